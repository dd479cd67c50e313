"""`netlab wait`: kubectl wait --for=condition|delete|jsonpath over the objects `get` shows."""

from __future__ import annotations

import time
from typing import List, Optional

import typer

from netlab.cli.common import ClusterOption, NamespaceOption, out
from netlab.errors import NetlabError, require_root


class TimedOut(NetlabError):
    """kubectl wait's exit code 1 when the deadline passes."""


POLL = 0.1  # how often the objects are looked at again


def register(app: typer.Typer) -> None:
    @app.command("wait")
    def wait(
        resources: List[str] = typer.Argument(..., help="KIND/NAME..., KIND NAME..., or KIND with -l / --all."),
        for_: str = typer.Option(..., "--for", help="condition=NAME[=VALUE], delete, or jsonpath={PATH}[=VALUE]."),
        timeout: str = typer.Option("30s", "--timeout", help="How long to wait (30s, 2m, 1h; 0 checks once)."),
        selector: Optional[str] = typer.Option(None, "-l", "--selector", help="Wait for every object of KIND whose labels match."),
        all_objects: bool = typer.Option(False, "--all", help="Wait for every object of KIND in the namespace."),
        namespace: str = NamespaceOption,
        all_namespaces: bool = typer.Option(False, "-A", "--all-namespaces", help="With -l or --all: in every namespace."),
        cluster: str = ClusterOption,
    ) -> None:
        """Wait until objects meet a condition (Ready, Available, a JSONPath value) or are deleted."""
        from netlab.api.labels import parse_label_selector
        from netlab.views import get as get_view
        from netlab.views import listing
        from netlab.views import wait as conditions

        require_root()
        condition = conditions.parse_for(for_)
        seconds = conditions.parse_duration(timeout)
        requests = listing.parse_requests(resources, get_view.view_for)
        lab = open_lab_alive(cluster)
        scope = None if all_namespaces else namespace
        sel = parse_label_selector(selector) if selector else None
        by_name = any(r.names for r in requests)
        if not by_name and sel is None and not all_objects:
            raise typer.BadParameter("name the objects (KIND/NAME or KIND NAME), or use -l SELECTOR or --all")

        def current() -> dict[tuple[str, str], tuple[str, dict | None]]:
            """(kind, name) -> (kubectl's name, the document or None when gone)."""
            sections, missing = listing.collect(lab, requests, get_view.view_for, scope, sel, None, None, False)
            found = {}
            for s in sections:
                for d in s.docs:
                    found[(s.kind.kind, d["metadata"]["name"])] = (f"{s.kind.qualified}/{d['metadata']['name']}", d)
            for r in requests:
                for name in r.names:
                    found.setdefault((r.kind.kind, name), (f"{r.kind.qualified}/{name}", None))
            return found

        first = current()
        if not first:
            raise NetlabError("no matching resources found")
        if condition.kind != "delete":
            gone = [label for label, doc in first.values() if doc is None]
            if gone:
                from netlab.api.kinds import lookup

                raise NetlabError("\n".join(_not_found(lookup(g.split("/")[0]), g.split("/", 1)[1]) for g in gone))
        pending = dict(first)
        deadline = time.monotonic() + seconds
        state = first
        while True:
            for key in list(pending):
                label, doc = state.get(key, (pending[key][0], None))
                if conditions.met(condition, doc):
                    out(f"{label} condition met")
                    del pending[key]
            if not pending:
                return
            if time.monotonic() >= deadline:
                raise TimedOut("\n".join(f"timed out waiting for the condition on {_plural(label)}" for label, _ in pending.values()))
            time.sleep(POLL)  # a poll interval of the wait, bounded by the deadline
            state = current()


def open_lab_alive(cluster: str):
    from netlab.cli.common import open_alive

    return open_alive(cluster)


def _plural(label: str) -> str:
    """`pod/web` -> `pods/web`, as kubectl's timeout message names them."""
    from netlab.api.kinds import lookup

    kind, _, name = label.partition("/")
    info = lookup(kind)
    return f"{info.qualified_plural}/{name}" if info else label


def _not_found(info, name: str) -> str:
    return f'{info.qualified_plural if info else "objects"} "{name}" not found'
