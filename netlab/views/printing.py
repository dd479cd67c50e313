"""What `kubectl get` does to the rows and documents of a view (pure): `-o` parsing,
custom columns, `--sort-by`, `--show-labels` / `-L`, `--field-selector`, kind prefixes.

A view gives parallel lists of table rows and documents; everything here keeps them paired.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from netlab.errors import InvalidInput

# views/jsonpath.py is imported by the functions that use it: a plain `get` needs none of them.

FORMATS = ("wide", "json", "yaml", "name", "jsonpath", "jsonpath-as-json", "custom-columns")


@dataclass(frozen=True)
class OutputFormat:
    kind: str  # "table", or one of FORMATS
    argument: str = ""  # the template of jsonpath / custom-columns


def parse_output(spec: str | None) -> OutputFormat:
    """`-o` as kubectl reads it: `wide`, `json`, `jsonpath=TEMPLATE`, `custom-columns=SPEC`, …"""
    if not spec:
        return OutputFormat("table")
    kind, _, argument = spec.partition("=")
    if kind in ("go-template", "template") and argument:
        from netlab.views.gotemplate import to_jsonpath

        return OutputFormat("jsonpath", to_jsonpath(argument))
    if kind in ("jsonpath", "jsonpath-as-json", "custom-columns"):
        if not argument:
            raise InvalidInput(f"{kind} format specified but no {'custom columns' if kind == 'custom-columns' else 'jsonpath template'} given")
        return OutputFormat(kind, argument)
    if kind in FORMATS and not argument:
        return OutputFormat(kind)
    allowed = "custom-columns, go-template, json, jsonpath, jsonpath-as-json, name, template, wide, yaml"
    raise InvalidInput(f'unable to match a printer suitable for the output format "{spec}", allowed formats are: {allowed}')


def jsonpath_text(template: str, data: Any) -> str:
    from netlab.views import jsonpath

    try:
        return jsonpath.execute(template, data)
    except jsonpath.JSONPathError as exc:
        raise InvalidInput(f"error parsing jsonpath {template}, {exc}") from None


# --- custom columns -----------------------------------------------------------------------------


def parse_custom_columns(spec: str) -> list[tuple[str, tuple]]:
    """`NAME:.metadata.name,IP:.status.podIP` -> [(header, parsed template)]."""
    from netlab.views import jsonpath

    columns = []
    for part in spec.split(","):
        header, sep, expression = part.partition(":")
        if not sep or not header:
            raise InvalidInput(f"unexpected custom-columns spec: {part}, expected <header>:<json-path-expr>")
        try:
            columns.append((header, jsonpath.parse(jsonpath.relaxed(expression))))
        except jsonpath.JSONPathError as exc:
            raise InvalidInput(f"error parsing custom-columns {part}: {exc}") from None
    return columns


def custom_column_rows(spec: str, docs: Sequence[dict]) -> tuple[list[str], list[list[str]]]:
    """kubectl's custom-columns printer: several values joined by commas, `<none>` for none."""
    from netlab.views import jsonpath

    columns = parse_custom_columns(spec)
    rows = []
    for doc in docs:
        row = []
        for _, nodes in columns:
            values = [v for node in nodes if isinstance(node, jsonpath.Path) for v in jsonpath.find(node, doc)]
            row.append(",".join(go_value(v) for v in values) if values else "<none>")
        rows.append(row)
    return [h for h, _ in columns], rows


def go_value(value: Any) -> str:
    """A value as kubectl's custom-columns prints it: Go's `%v` (`[map[ip:10.244.1.5]]` for a
    list of objects, keys sorted as Go's fmt sorts map keys)."""
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_value(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, list):
        return "[" + " ".join(go_value(v) for v in value) + "]"
    if value is None:
        return "<nil>"
    from netlab.views import jsonpath

    return jsonpath.text_of(value)


# --- sorting ------------------------------------------------------------------------------------


def sort_key(expression: str):
    """A key function over documents for `--sort-by`: numbers by value, the rest as text;
    objects without the field first, as kubectl's sorter puts them."""
    from netlab.views import jsonpath

    try:
        nodes = jsonpath.parse(jsonpath.relaxed(expression))
    except jsonpath.JSONPathError as exc:
        raise InvalidInput(f"couldn't parse --sort-by {expression}: {exc}") from None
    path = next((n for n in nodes if isinstance(n, jsonpath.Path)), None)
    if path is None:
        raise InvalidInput(f"--sort-by {expression}: not a field path")

    def key(doc: dict) -> tuple:
        found = jsonpath.find(path, doc)
        if not found:
            return (0, 0, "")
        value = found[0]
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return (1, value, "")
        return (2, 0, jsonpath.text_of(value))

    return key


# --- labels as columns --------------------------------------------------------------------------


def labels_text(labels: dict[str, str]) -> str:
    """labels.FormatLabels: sorted `k=v` joined by commas, `<none>` when there are none."""
    return ",".join(f"{k}={labels[k]}" for k in sorted(labels)) or "<none>"


def label_columns(keys: Sequence[str]) -> list[str]:
    """-L's columns: every key of every -L (comma-separated too), headed by its last path part."""
    return [k.strip() for value in keys for k in value.split(",") if k.strip()]


def label_headers(keys: Sequence[str]) -> list[str]:
    return [k.rsplit("/", 1)[-1].upper() for k in keys]


# --- field selectors ----------------------------------------------------------------------------

# The fields the apiserver can select on, per kind (each kind's GetAttrs / field label conversion).
FIELD_LABELS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
            "spec.hostNetwork", "status.phase", "status.podIP", "status.podIPs", "status.nominatedNodeName"),
    "Node": ("spec.unschedulable",),
    "Namespace": ("status.phase",),
    "ReplicaSet": ("status.replicas",),
    "Service": ("spec.clusterIP", "spec.type"),
}  # fmt: skip
_DEFAULTS = {"spec.hostNetwork": "false", "spec.schedulerName": "default-scheduler", "spec.serviceAccountName": "default",
             "spec.unschedulable": "false"}  # fmt: skip


@dataclass(frozen=True)
class FieldRequirement:
    field: str
    equal: bool
    value: str


def parse_field_selector(text: str) -> list[FieldRequirement]:
    """`status.phase=Running,spec.nodeName!=node-a` (=, == and != joined by commas)."""
    requirements = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        for op, equal in (("!=", False), ("==", True), ("=", True)):
            if op in part:
                field, _, value = part.partition(op)
                requirements.append(FieldRequirement(field.strip(), equal, value.strip()))
                break
        else:
            raise InvalidInput(f'invalid field selector: "{part}": expected field=value, field==value or field!=value')
    return requirements


def check_field_selector(kind: str, requirements: Sequence[FieldRequirement]) -> None:
    supported = ("metadata.name", "metadata.namespace", *FIELD_LABELS.get(kind, ()))
    for r in requirements:
        if r.field not in supported:
            raise InvalidInput(f'field label not supported: {r.field} (for {kind}: {", ".join(supported)})')


def field_value(doc: dict, field: str) -> str:
    from netlab.views import jsonpath

    node: Any = doc
    for part in field.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    if field == "status.podIPs" and isinstance(node, list):
        node = node[0].get("ip") if node else None
    if node is None:
        return _DEFAULTS.get(field, "")
    return jsonpath.text_of(node)


def fields_match(doc: dict, requirements: Sequence[FieldRequirement]) -> bool:
    return all((field_value(doc, r.field) == r.value) == r.equal for r in requirements)
