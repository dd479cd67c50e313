"""Read manifests the way `kubectl apply -f` does and validate every document.

Sources are files, directories (their *.yaml, *.yml and *.json files, sorted, not recursive)
or `-` for stdin. Every problem in every document is collected and raised at once as one
InvalidInput, one line each: `web.yaml: Service default/web: spec.ports[0].port: Invalid
value: 0: must be between 1 and 65535, inclusive`. Nothing is half-loaded.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

import yaml
from pydantic import ValidationError

from netlab.api import names
from netlab.api.field import problems_from_validation_error
from netlab.api.kinds import BY_KIND, NAMESPACED_KINDS, obj_key
from netlab.api.labels import Selector, parse_label_selector, selector_from_dict
from netlab.api.meta import ignored_fields
from netlab.errors import InvalidInput

if TYPE_CHECKING:
    from netlab.api.kinds import ApiObject

__all__ = [
    "LoadResult",
    "Selector",
    "load_manifests",
    "parse_documents",
    "parse_label_selector",
    "selector_from_dict",
]

STDIN = "-"
STDIN_NAME = "<stdin>"
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")

# Kubernetes kinds a manifest may well contain next to Pods and Services; netlab skips them
# with a warning instead of failing the whole apply. Anything else is most likely a typo.
SKIPPED_KINDS = frozenset(
    {
        "DaemonSet", "Job", "CronJob", "ReplicationController", "PodTemplate",
        "Endpoints", "EndpointSlice", "PersistentVolume", "PersistentVolumeClaim", "StorageClass",
        "HorizontalPodAutoscaler", "PodDisruptionBudget", "LimitRange", "ResourceQuota",
        "PriorityClass", "CustomResourceDefinition", "Node", "Event",
    }
)  # fmt: skip

# Stored and shown, never enforced (api/rbac.py): `apply` says so once, not per object.
RBAC_KINDS = frozenset({"ServiceAccount", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"})
RBAC_NOT_ENFORCED = (
    "netlab stores and shows ServiceAccounts, Roles, ClusterRoles and their bindings but does not "
    "enforce RBAC: every request is allowed"
)


_CLUSTER_SCOPED_SKIPPED_KINDS = frozenset(
    {
        "PersistentVolume", "StorageClass", "PriorityClass", "CustomResourceDefinition", "Node",
    }
)  # fmt: skip


def _namespaced(kind: str) -> bool:
    """Whether problems name an object of this kind as namespace/name."""
    if kind in SKIPPED_KINDS:
        return kind not in _CLUSTER_SCOPED_SKIPPED_KINDS
    return kind in NAMESPACED_KINDS


@dataclass(frozen=True)
class LoadResult:
    objects: tuple[ApiObject, ...]  # document order; namespaced kinds have their namespace set
    warnings: tuple[str, ...]
    sources: tuple[str, ...] = ()  # the file each object came from, for later error messages


@dataclass(frozen=True)
class _Document:
    source: str  # the file as the user named it, or "<stdin>"
    data: Any
    number: int  # 1-based position of the document in its source
    item: int | None = None  # position inside a `kind: List`

    @property
    def label(self) -> str:
        text = f"document {self.number}"
        return text if self.item is None else f"{text} items[{self.item}]"


@dataclass
class _Collector:
    """Problems and warnings gathered across every source of one invocation."""

    problems: list[str]
    warnings: list[str]


def load_manifests(
    sources: Sequence[str | os.PathLike[str]],
    default_namespace: str = "default",
    stdin: TextIO | None = None,
    explicit_namespace: bool = False,
) -> LoadResult:
    """Load and validate every object; raise InvalidInput listing all problems found.

    `explicit_namespace` says the user passed `-n`: then, as kubectl does, an object naming a
    different namespace is an error instead of going to its own namespace.
    """
    ns_errors = names.dns1123_label_errors(default_namespace)
    if ns_errors:
        raise InvalidInput(f'namespace "{default_namespace}": {"; ".join(ns_errors)}')
    if not sources:
        raise InvalidInput("no manifests given: name files, directories or - for stdin")
    if isinstance(sources, str):  # one path, not a sequence of one-letter paths
        sources = [sources]

    out = _Collector(problems=[], warnings=[])
    objects: list[ApiObject] = []
    origins: list[str] = []
    first_seen: dict[tuple[str, str, str], str] = {}
    for document in _documents(sources, stdin, out):
        subject = _subject(document, default_namespace)
        obj = _load_document(document, subject, default_namespace, explicit_namespace, out)
        if obj is None:
            continue
        key = obj_key(obj)
        where = f"{document.source} {document.label}"
        if key in first_seen:
            out.problems.append(
                f'{document.source}: {subject}: metadata.name: Duplicate value: "{key[2]}": '
                f"also defined in {first_seen[key]}"
            )
            continue
        first_seen[key] = where
        objects.append(obj)
        origins.append(document.source)
    if out.problems:
        raise InvalidInput(out.problems)
    if any(o.kind in RBAC_KINDS for o in objects):  # said once per apply, not per object
        out.warnings.append(RBAC_NOT_ENFORCED)
    return LoadResult(objects=tuple(objects), warnings=tuple(out.warnings), sources=tuple(origins))


def load_references(
    sources: Sequence[str | os.PathLike[str]], default_namespace: str = "default", stdin: TextIO | None = None
) -> list[tuple[str, str, str]]:
    """(kind, namespace, name) of each document, for `delete -f`: like kubectl, an object
    needs only apiVersion, kind and metadata.name to be deleted (no spec, no validation)."""
    out = _Collector(problems=[], warnings=[])
    refs: list[tuple[str, str, str]] = []
    for document in _documents(sources, stdin, out):
        data = document.data
        subject = _subject(document, default_namespace)
        kind = data.get("kind") if isinstance(data, dict) else None
        meta = data.get("metadata") if isinstance(data, dict) else None
        name = meta.get("name") if isinstance(meta, dict) else None
        if kind in SKIPPED_KINDS:
            out.warnings.append(f"{document.source}: {subject}: kind {kind} is not modelled by netlab, skipped")
            continue
        if not _modelled(kind) or not isinstance(name, str) or not name:
            out.problems.append(f"{document.source}: {subject}: needs a kind netlab knows and metadata.name")
            continue
        namespace = meta.get("namespace") if _namespaced(kind) else ""
        refs.append((kind, namespace if isinstance(namespace, str) and namespace else ("" if not _namespaced(kind) else default_namespace), name))
    if out.problems:
        raise InvalidInput(out.problems)
    return refs


# --- reading sources ----------------------------------------------------------------------------


def _documents(
    sources: Sequence[str | os.PathLike[str]], stdin: TextIO | None, out: _Collector
) -> Iterator[_Document]:
    """Yield documents lazily, so read problems land in `out` in the order of the sources."""
    stdin_read = False
    for source in map(os.fspath, sources):
        if source == STDIN:
            if stdin_read:
                out.problems.append(f"{STDIN_NAME}: standard input given more than once")
                continue
            stdin_read = True
            yield from _parse_source(STDIN_NAME, (stdin or sys.stdin).read(), out)
            continue
        for path in _expand(source, out):
            try:
                with open(path, encoding="utf-8") as f:
                    text = f.read()
            except (OSError, UnicodeDecodeError) as exc:
                out.problems.append(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}")
                continue
            yield from _parse_source(path, text, out)


def _expand(source: str, out: _Collector) -> list[str]:
    if os.path.isdir(source):
        found = sorted(
            os.path.join(source, name)
            for name in os.listdir(source)
            if name.endswith(MANIFEST_SUFFIXES) and os.path.isfile(os.path.join(source, name))
        )
        if not found:
            out.problems.append(f"{source}: directory has no .yaml, .yml or .json files")
        return found
    if not os.path.exists(source):
        out.problems.append(f"{source}: no such file or directory")
        return []
    return [source]


def _parse_source(source: str, text: str, out: _Collector) -> list[_Document]:
    try:
        parsed = parse_documents(source, text)
    except InvalidInput as exc:
        out.problems.extend(exc.problems)
        return []
    documents = []
    for number, data in enumerate(parsed, start=1):
        if data is None:  # an empty document between two `---`
            continue
        if isinstance(data, dict) and data.get("kind") == "List":
            items = data.get("items")
            if not isinstance(items, list):
                out.problems.append(
                    f"{source}: document {number}: items: Required value: a List needs a list"
                )
                continue
            documents += [_Document(source, item, number, i) for i, item in enumerate(items)]
        else:
            documents.append(_Document(source, data, number))
    return documents


def parse_documents(source: str, text: str) -> list[Any]:
    """The documents of one source: JSON for *.json, else (multi-document) YAML.

    Raises InvalidInput with one line naming the source, line and column of a syntax error.
    """
    if source.endswith(".json"):
        try:
            return [json.loads(text)]
        except json.JSONDecodeError as exc:
            raise InvalidInput(
                f"{source}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
            ) from None
    try:
        return list(yaml.load_all(text, Loader=_ManifestLoader))  # noqa: S506 - a SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "syntax error"
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise InvalidInput(f"{source}: invalid YAML{where}: {problem}") from None
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{source}: invalid YAML: {' '.join(str(exc).split())}") from None


class _ManifestLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """SafeLoader that refuses duplicate keys (as sigs.k8s.io/yaml does) and keeps timestamps
    as strings (the apiserver's `creationTimestamp` is a string, and must survive JSON)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[str] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                if key_node.value in seen:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping",
                        node.start_mark,
                        f'mapping key "{key_node.value}" already defined',
                        key_node.start_mark,
                    )
                seen.add(key_node.value)
        return super().construct_mapping(node, deep=deep)


_ManifestLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


# --- one document -------------------------------------------------------------------------------


def _subject(document: _Document, default_namespace: str) -> str:
    """How a problem names its object: `Pod default/web`, `Namespace team-a`, `document 2`."""
    data = document.data
    if not isinstance(data, dict) or not isinstance(data.get("kind"), str) or not data["kind"]:
        return document.label
    kind = data["kind"]
    meta = data.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    if not isinstance(name, str) or not name:
        return f"{kind} in {document.label}"
    if not _namespaced(kind):
        return f"{kind} {name}"
    namespace = meta.get("namespace")
    if not isinstance(namespace, str) or not namespace:
        namespace = default_namespace
    return f"{kind} {namespace}/{name}"


def _modelled(kind: object) -> bool:
    """A kind `apply` takes. Its model is imported when a document of it is validated, not
    before: building the pydantic classes of every kind cost an `apply` of pods 0.3 s."""
    info = BY_KIND.get(kind) if isinstance(kind, str) else None
    return info is not None and info.modelled


def _load_document(
    document: _Document,
    subject: str,
    default_namespace: str,
    explicit_namespace: bool,
    out: _Collector,
) -> ApiObject | None:
    source, data = document.source, document.data

    def problem(path: str, message: str) -> None:
        out.problems.append(f"{source}: {subject}: {path}: {message}")

    if not isinstance(data, dict):
        out.problems.append(
            f"{source}: {document.label}: expected an object with apiVersion and kind, "
            f"got {type(data).__name__}"
        )
        return None
    kind = data.get("kind")
    if not isinstance(kind, str) or not kind:
        problem("kind", "Required value")
        return None
    if kind == "Cluster":
        problem(
            "kind",
            "a Cluster is netlab's cluster config, not a manifest; "
            f"use `netlab cluster create --config {source}`",
        )
        return None
    if kind in SKIPPED_KINDS:
        out.warnings.append(f"{source}: {subject}: kind {kind} is not modelled by netlab, skipped")
        return None
    if not _modelled(kind):
        supported = ", ".join(f'"{k.kind}"' for k in BY_KIND.values() if k.modelled)
        problem("kind", f'Unsupported value: "{kind}": supported values: {supported}, "List"')
        return None
    if "apiVersion" not in data:
        problem("apiVersion", "Required value")
        return None

    mismatch = _namespace_mismatch(data, kind, default_namespace, explicit_namespace)
    if mismatch:
        problem("metadata.namespace", mismatch)
        return None
    data = _with_namespace(data, kind, default_namespace)

    try:
        obj = BY_KIND[kind].model.model_validate(data)
    except ValidationError as exc:
        for field_problem in problems_from_validation_error(exc):
            out.problems.append(f"{source}: {subject}: {field_problem}")
        return None
    for ignored in ignored_fields(obj):
        out.warnings.append(f"{source}: {subject}: {ignored}")
    return obj


def _namespace_mismatch(
    data: dict[str, Any], kind: str, default_namespace: str, explicit_namespace: bool
) -> str | None:
    """kubectl refuses an object whose namespace contradicts an explicit `-n`."""
    meta = data.get("metadata")
    given = meta.get("namespace") if isinstance(meta, dict) else None
    if not explicit_namespace or kind not in NAMESPACED_KINDS or given in (None, ""):
        return None
    if given == default_namespace:
        return None
    return (
        f'the namespace from the provided object "{given}" does not match the namespace '
        f"\"{default_namespace}\". You must pass '--namespace={given}' to perform this operation."
    )


def _with_namespace(data: dict[str, Any], kind: str, default_namespace: str) -> dict[str, Any]:
    """The document without status, its namespace filled in (namespaced) or dropped (not)."""
    data = {k: v for k, v in data.items() if k != "status"}  # status is observed, never input
    meta = data.get("metadata")
    if not isinstance(meta, dict):
        return data  # validation reports it
    if kind not in NAMESPACED_KINDS:
        data["metadata"] = {k: v for k, v in meta.items() if k != "namespace"}
    elif meta.get("namespace") in (None, ""):
        data["metadata"] = {**meta, "namespace": default_namespace}
    return data
