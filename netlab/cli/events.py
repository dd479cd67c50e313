"""`netlab events`: what the lab did, when — kubectl get events' columns, from the store.

Node events (RulesSynced, NodeFailed, …) have no namespace in the store; like Kubernetes, which
records them in `default`, they show with the `default` namespace.
"""

from __future__ import annotations

import time
from typing import Sequence

import typer

from netlab.cli.common import ClusterOption, NamespaceOption, note, out, print_table
from netlab.lab.lifecycle import require_root
from netlab.apiserver.state import open_lab
from netlab.kubelet.status import age
from netlab.apiserver.store import Event

# The namespace cluster-scoped objects' events are shown in (kubectl: metav1.NamespaceDefault).
CLUSTER_EVENTS_NAMESPACE = "default"
HEADERS = ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
WATCH_INTERVAL = 0.2  # seconds between two looks at the events table


def event_namespace(event: Event) -> str:
    return event.namespace or CLUSTER_EVENTS_NAMESPACE


def visible(event: Event, namespace: str | None) -> bool:
    """Whether `-n namespace` (None: `-A`) shows this event."""
    return namespace is None or event_namespace(event) == namespace


def event_row(event: Event, now: float, all_namespaces: bool) -> list[str]:
    row = [age(event.ts, now), event.type, event.reason, f"{event.kind.lower()}/{event.name}", event.message]
    return ([event_namespace(event)] if all_namespaces else []) + row


def headers(all_namespaces: bool) -> list[str]:
    return (["NAMESPACE"] if all_namespaces else []) + HEADERS


def rows(events: Sequence[Event], namespace: str | None, now: float) -> list[list[str]]:
    return [event_row(e, now, namespace is None) for e in events if visible(e, namespace)]


def register(app: typer.Typer) -> None:
    @app.command("events")
    def events(
        namespace: str = NamespaceOption,
        all_namespaces: bool = typer.Option(False, "-A", "--all-namespaces", help="Events of every namespace."),
        watch: bool = typer.Option(False, "-w", "--watch", help="After listing, print new events as they happen (Ctrl-C to stop)."),
        cluster: str = ClusterOption,
    ) -> None:
        """What the lab did, oldest first: pods scheduled, sandboxes created, rules synced, restarts, node failures."""
        require_root()
        lab = open_lab(cluster)
        scope = None if all_namespaces else namespace
        listed = lab.store.events()
        table = rows([e for _, e in listed], scope, time.time())
        if table:
            print_table(headers(scope is None), table)
        elif not watch:
            note(f"No events found{' in ' + scope + ' namespace' if scope else ''}.")
        if not watch:
            return
        last = listed[-1][0] if listed else 0
        header_printed = bool(table)
        try:
            while True:
                time.sleep(WATCH_INTERVAL)  # polling the events table; no write announces itself
                new = lab.store.events(last)
                if not new:
                    continue
                last = new[-1][0]
                for row in rows([e for _, e in new], scope, time.time()):
                    if not header_printed:
                        out.print("   ".join(headers(scope is None)), markup=False)
                        header_printed = True
                    out.print("   ".join(row), markup=False)
        except KeyboardInterrupt:
            return
