"""`netlab events`: what the lab did, when — kubectl get events' columns, from the store.

Node events (RulesSynced, NodeFailed, …) have no namespace in the store; like Kubernetes, which
records them in `default`, they show with the `default` namespace.
"""

from __future__ import annotations

import time
from typing import Sequence

from netlab.apiserver.state import Lab
from netlab.apiserver.store import Event
from netlab.views.objects import age

# The namespace cluster-scoped objects' events are shown in (kubectl: metav1.NamespaceDefault).
CLUSTER_EVENTS_NAMESPACE = "default"
HEADERS = ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]


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


def rows_since(lab: Lab, namespace: str | None, after: int = 0) -> tuple[list[list[str]], int]:
    """The rows of the events recorded after event id `after`, and the last id seen."""
    listed = lab.store.events(after)
    last = listed[-1][0] if listed else after
    return rows([e for _, e in listed], namespace, time.time()), last
