"""The node lifecycle controller: which nodes failed or are cordoned, and eviction of the pods a
failed node held (the lab's `node fail|cordon` record the node states in the store)."""

from __future__ import annotations

from netlab.apiserver.state import Lab
from netlab.controllers.garbagecollector import owner_of


def failed_nodes(lab: Lab) -> set[str]:
    return {n for n, s in (lab.store.get_meta("nodes") or {}).items() if s.get("failed")}


def unschedulable_nodes(lab: Lab) -> set[str]:
    return {n for n, s in (lab.store.get_meta("nodes") or {}).items() if s.get("failed") or s.get("unschedulable")}


def evict_lost(lab: Lab) -> bool:
    """Pods of a failed node that a controller owns are deleted, so it re-creates them elsewhere.

    Kubernetes waits for the node's not-ready toleration (300 s) first; the lab evicts at once.
    Bare pods stay bound to their node, as in Kubernetes: nothing re-creates them.
    """
    lost = failed_nodes(lab)
    changed = False
    for o in lab.store.list("Pod"):
        if o.status.get("nodeName") in lost and owner_of(o):
            lab.store.delete("Pod", o.namespace, o.name)
            kind, name = owner_of(o)  # type: ignore[misc]
            lab.store.add_event(kind, o.namespace, name, "NodeLost", f"pod {o.name} was on failed node {o.status['nodeName']}; replacing it", "Warning")
            changed = True
    return changed
