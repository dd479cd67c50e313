"""`netlab get`: kubectl's listing, from the rows and documents of `netlab/views/get.py`."""

from __future__ import annotations

import time
from typing import Optional

import typer

from netlab.api.labels import parse_label_selector
from netlab.cli.common import (
    ClusterOption,
    NamespaceOption,
    Output,
    OutputOption,
    note,
    open_alive,
    out,
    print_document,
    print_table,
)
from netlab.errors import EXIT_INTERRUPTED, NotFound, require_root
from netlab.views.objects import as_list


def register(app: typer.Typer) -> None:
    @app.command("get")
    def get(
        resource: str = typer.Argument(..., help="pods, services (svc), endpoints (ep), nodes, namespaces (ns), deployments (deploy), replicasets (rs), statefulsets (sts), networkpolicies (netpol)"),
        name: Optional[str] = typer.Argument(None, help="Only this object."),
        namespace: str = NamespaceOption,
        all_namespaces: bool = typer.Option(False, "-A", "--all-namespaces", help="Objects of every namespace."),
        selector: Optional[str] = typer.Option(None, "-l", "--selector", help="Label selector, e.g. app=web,tier!=db"),
        output: Output = OutputOption,
        watch: bool = typer.Option(False, "-w", "--watch", help="After listing, print each change as it happens (Ctrl-C to stop)."),
        cluster: str = ClusterOption,
    ) -> None:
        """List objects like kubectl get: aligned columns, or -o wide|json|yaml|name."""
        # The views load the API models (the kind table names them): `get --help` and completion do not.
        from netlab.views import get as get_view

        require_root()
        found = get_view.view_for(resource)
        if found is None:
            raise typer.BadParameter(f"unknown resource {resource!r}; use one of pods, services, endpoints, nodes, namespaces, deployments, replicasets, statefulsets, netpol")
        info, view = found
        lab = open_alive(cluster)
        scope = None if all_namespaces or not info.namespaced else namespace
        sel = parse_label_selector(selector) if selector else None
        if watch:
            _watch(lab, view, scope, sel, output == Output.wide, name)
            return
        headers, rows, docs = view(lab, scope, sel, output == Output.wide)
        if name is not None:
            pairs = [(r, d) for r, d in zip(rows, docs) if d["metadata"]["name"] == name]
            if not pairs:
                raise NotFound(f'{resource} "{name}" not found' + (f' in namespace "{scope}"' if scope else ""))
            rows, docs = [pairs[0][0]], [pairs[0][1]]
        if output in (Output.json, Output.yaml):
            print_document(docs[0] if name is not None else as_list(docs), output)
        elif output == Output.name:
            for d in docs:
                out(f"{d['kind'].lower()}/{d['metadata']['name']}")
        elif not rows:
            note(f"No resources found{' in ' + scope + ' namespace' if scope else ''}.")
        else:
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
