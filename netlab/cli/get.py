"""`netlab get`: kubectl's listing, from the rows and documents of `netlab/views/get.py`."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Optional

from netlab.cli.common import Output, UsageProblem, note, open_alive, out, print_document, print_table
from netlab.cli.fast import Params, flag, multi, value
from netlab.errors import EXIT_INTERRUPTED, require_root
from netlab.naming import CLUSTER_ENV, DEFAULT_CLUSTER
from netlab.views.objects import as_list

if TYPE_CHECKING:
    import typer


RESOURCE_HELP = (
    "What to list, as kubectl takes it: a kind (pods, svc, deploy, endpointslices, ingress, httproutes, …), several "
    "(pods,svc), all, names after the kind (pod web db), or KIND/NAME (pod/web svc/web)."
)
OUTPUT_HELP = "wide, json, yaml, name, jsonpath=TEMPLATE, jsonpath-as-json=TEMPLATE, go-template=TEMPLATE (range, fields, strings) or custom-columns=HEADER:PATH,…"


# The parameters of `get` below as plain data, for cli/fast.py (which parses a plainly written
# `get` without typer); tests/unit/test_cli_startup.py holds the two equal.
PARAMETERS = Params(
    "netlab.cli.get:list_objects",
    arguments=("*resources",),
    options=(
        value("namespace", "-n", "--namespace", default="default"),
        flag("all_namespaces", "-A", "--all-namespaces"),
        value("selector", "-l", "--selector"),
        value("field_selector", "--field-selector"),
        value("output", "-o", "--output"),
        flag("no_headers", "--no-headers"),
        flag("show_labels", "--show-labels"),
        multi("label_columns", "-L", "--label-columns"),
        value("sort_by", "--sort-by"),
        flag("watch", "-w", "--watch"),
        value("cluster", "--cluster", default=DEFAULT_CLUSTER, envvar=CLUSTER_ENV),
    ),
)


def register(app: typer.Typer) -> None:
    import typer

    from netlab.cli.common import ClusterOption, NamespaceOption

    @app.command("get")
    def get(
        resources: list[str] = typer.Argument(..., help=RESOURCE_HELP, show_default=False),
        namespace: str = NamespaceOption,
        all_namespaces: bool = typer.Option(False, "-A", "--all-namespaces", help="Objects of every namespace."),
        selector: Optional[str] = typer.Option(None, "-l", "--selector", help="Label selector, e.g. app=web,tier!=db"),
        field_selector: Optional[str] = typer.Option(None, "--field-selector", help="Field selector, e.g. status.phase=Running,spec.nodeName!=node-a"),
        output: Optional[str] = typer.Option(None, "-o", "--output", help=OUTPUT_HELP),
        no_headers: bool = typer.Option(False, "--no-headers", help="Print the table (or custom columns) without its header line."),
        show_labels: bool = typer.Option(False, "--show-labels", help="Add a LABELS column."),
        label_columns: list[str] = typer.Option([], "-L", "--label-columns", help="A column for the value of this label (repeatable, or comma-separated)."),
        sort_by: Optional[str] = typer.Option(None, "--sort-by", help="Sort by a JSONPath field, e.g. .metadata.name or {.status.podIP}."),
        watch: bool = typer.Option(False, "-w", "--watch", help="After listing, print each change as it happens (Ctrl-C to stop)."),
        cluster: str = ClusterOption,
    ) -> None:
        """List objects like kubectl get: aligned columns, or -o wide|json|yaml|name|jsonpath|custom-columns."""
        try:
            list_objects(resources, namespace, all_namespaces, selector, field_selector, output, no_headers, show_labels, label_columns, sort_by, watch, cluster)
        except UsageProblem as exc:
            raise typer.BadParameter(str(exc)) from None


def list_objects(
    resources: list[str],
    namespace: str,
    all_namespaces: bool,
    selector: str | None,
    field_selector: str | None,
    output: str | None,
    no_headers: bool,
    show_labels: bool,
    label_columns: list[str],
    sort_by: str | None,
    watch: bool,
    cluster: str,
) -> None:
    """What `netlab get` does, after either parser."""
    # The views load the API models (the kind table names them): `get --help` and completion do not.
    from netlab.views import get as get_view
    from netlab.views import listing, printing

    require_root()
    fmt = printing.parse_output(output)
    requests = listing.parse_requests(resources, get_view.view_for)
    lab = open_alive(cluster)
    scope = None if all_namespaces else namespace
    if selector:
        from netlab.api.labels import parse_label_selector

        sel = parse_label_selector(selector)
    else:
        sel = None
    if watch:
        if len(requests) != 1:
            raise UsageProblem("-w watches one kind at a time")
        info, view = get_view.view_for(requests[0].kind.kind)
        names = requests[0].names
        _watch(lab, view, scope if info.namespaced else None, sel, fmt.kind == "wide", names[0] if names else None)
        return
    sections, missing = listing.collect(lab, requests, get_view.view_for, scope, sel, field_selector, sort_by, fmt.kind == "wide")
    docs = [d for s in sections for d in s.docs]
    single = len(requests) == 1 and len(requests[0].names) == 1 and len(docs) == 1
    if fmt.kind in ("json", "yaml"):
        if docs or not missing:
            print_document(docs[0] if single else as_list(docs), Output(fmt.kind))
    elif fmt.kind in ("jsonpath", "jsonpath-as-json"):
        data = docs[0] if single else as_list(docs)
        if fmt.kind == "jsonpath":
            sys.stdout.write(printing.jsonpath_text(fmt.argument, data))
        else:
            _jsonpath_as_json(fmt.argument, data)
        sys.stdout.flush()
    elif fmt.kind == "name":
        for s in sections:
            for d in s.docs:
                out(f"{s.kind.qualified}/{d['metadata']['name']}")
    elif fmt.kind == "custom-columns":
        headers, rows = printing.custom_column_rows(fmt.argument, docs)
        _table(headers, rows, no_headers)
    else:
        _print_sections(sections, show_labels, printing.label_columns(label_columns), no_headers)
    if not docs and not missing:
        where = f" in {scope} namespace" if scope and any(r.kind.namespaced for r in requests) else ""
        note(f"No resources found{where}.")
    if missing:
        raise listing.not_found(missing)


def _jsonpath_as_json(template: str, data) -> None:
    from netlab.views import jsonpath, printing

    try:
        nodes = jsonpath.parse(template)
    except jsonpath.JSONPathError as exc:
        raise printing.InvalidInput(f"error parsing jsonpath {template}, {exc}") from None
    values = [v for n in nodes if isinstance(n, jsonpath.Path) for v in jsonpath.find(n, data)]
    print_document(values, Output.json)


def _print_sections(sections, show_labels: bool, label_keys: list[str], no_headers: bool) -> None:
    """One table per kind, a blank line between; `KIND/NAME` names when several kinds print."""
    from netlab.views import printing

    printed = [s for s in sections if s.rows]
    with_kind = len(printed) > 1
    for i, s in enumerate(printed):
        headers = list(s.headers)
        name_col = headers.index("NAME")
        rows = [list(r) for r in s.rows]
        if with_kind:
            for r in rows:
                r[name_col] = f"{s.kind.qualified}/{r[name_col]}"
        if label_keys:
            headers += printing.label_headers(label_keys)
            for r, d in zip(rows, s.docs):
                labels = d["metadata"].get("labels") or {}
                r += [labels.get(k, "") for k in label_keys]
        if show_labels:
            headers.append("LABELS")
            for r, d in zip(rows, s.docs):
                r.append(printing.labels_text(d["metadata"].get("labels") or {}))
        if i:
            out("")
        _table(headers, rows, no_headers)


def _table(headers, rows, no_headers: bool) -> None:
    if no_headers:
        if rows:
            widths = [max(len(str(r[i])) for r in rows) for i in range(len(headers))]
            for r in rows:
                out("   ".join(str(c).ljust(widths[i]) for i, c in enumerate(r)).rstrip())
        return
    print_table(headers, rows)


def _watch(lab, view, scope, sel, wide: bool, name: str | None) -> None:
    """kubectl get -w: the table once, then one line per row that changed, until Ctrl-C.

    The store is polled (every 0.2 s): a row also changes when a process dies, which no write
    announces. AGE is left out of the comparison, or every row would change every second.
    """
    seen: dict[tuple, list] = {}
    widths: list[int] | None = None
    try:
        while True:
            headers, rows, docs = view(lab, scope, sel, wide)
            age_col = headers.index("AGE") if "AGE" in headers else None
            current = {}
            for row, doc in zip(rows, docs):
                if name is not None and doc["metadata"]["name"] != name:
                    continue
                key = (doc["metadata"].get("namespace"), doc["metadata"]["name"])
                current[key] = [str(c) for c in row]
            if widths is None:
                widths = [max([len(h)] + [len(r[i]) for r in current.values()]) + 3 for i, h in enumerate(headers)]
                out("".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip())
            for key, row in current.items():
                compare = [c for i, c in enumerate(row) if i != age_col]
                if seen.get(key) != compare:
                    seen[key] = compare
                    out("".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
            for key in [k for k in seen if k not in current]:
                del seen[key]
                note(f"{key[1]} deleted")
            time.sleep(0.2)  # polling interval of the watch, not a synchronisation
    except KeyboardInterrupt:  # Ctrl-C ends a watch quietly, with 130 as kubectl's does
        raise SystemExit(EXIT_INTERRUPTED) from None
