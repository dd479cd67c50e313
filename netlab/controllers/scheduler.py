"""The scheduler: which node a pod runs on (a pure choice), and the step that binds pods.

Kubernetes' rules that netlab keeps: `spec.nodeName` binds directly; `spec.nodeSelector` must
match the node's labels; cordoned or failed nodes take no new pods; among the rest the node
with the fewest pods wins (ties broken by node order), which spreads a lab's pods evenly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

from netlab.apiserver.state import Lab, pod_model
from netlab.controllers.nodelifecycle import unschedulable_nodes


@dataclass(frozen=True)
class NodeInfo:
    name: str
    labels: Mapping[str, str] = field(default_factory=dict, hash=False)
    schedulable: bool = True


@dataclass(frozen=True)
class Decision:
    node: str | None
    reason: str = ""  # why no node fits, in the scheduler's own words


def node_labels(name: str, extra: Mapping[str, str]) -> dict[str, str]:
    """The labels a kubelet puts on its node, plus the ones from the Cluster config."""
    return {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", **extra}


def schedule(
    node_name: str | None,
    node_selector: Mapping[str, str],
    nodes: Sequence[NodeInfo],
    pod_counts: Mapping[str, int],
) -> Decision:
    if node_name:
        if any(n.name == node_name for n in nodes):
            return Decision(node_name)
        return Decision(None, f"node {node_name} does not exist")
    fits = [
        n
        for n in nodes
        if n.schedulable and all(n.labels.get(k) == v for k, v in node_selector.items())
    ]
    if not fits:
        unmatched = sum(
            1 for n in nodes if not all(n.labels.get(k) == v for k, v in node_selector.items())
        )
        unschedulable = sum(1 for n in nodes if not n.schedulable)
        parts = []
        if unmatched:
            parts.append(f"{unmatched} node(s) didn't match Pod's node affinity/selector")
        if unschedulable:
            parts.append(f"{unschedulable} node(s) were unschedulable")
        return Decision(None, f"0/{len(nodes)} nodes are available: " + ", ".join(parts) + ".")
    order = {n.name: i for i, n in enumerate(nodes)}
    best = min(fits, key=lambda n: (pod_counts.get(n.name, 0), order[n.name]))
    return Decision(best.name)


def schedule_pods(lab: Lab) -> None:
    objs = lab.store.list("Pod")
    counts: dict[str, int] = {}
    for o in objs:
        node = o.status.get("nodeName")
        if node:
            counts[node] = counts.get(node, 0) + 1
    cordoned = unschedulable_nodes(lab)
    nodes = [NodeInfo(n.name, node_labels(n.name, n.labels), n.name not in cordoned) for n in lab.topo.nodes]
    for o in objs:
        if o.status.get("nodeName"):
            continue
        pod = pod_model(o)
        decision = schedule(pod.spec.nodeName, pod.spec.nodeSelector or {}, nodes, counts)
        if decision.node is None:
            if o.status.get("reason") != "Unschedulable":
                lab.store.add_event("Pod", o.namespace, o.name, "FailedScheduling", decision.reason, "Warning")
            lab.store.set_status("Pod", o.namespace, o.name, {"reason": "Unschedulable", "message": decision.reason})
            continue
        counts[decision.node] = counts.get(decision.node, 0) + 1
        lab.store.set_status("Pod", o.namespace, o.name, {"nodeName": decision.node})
        lab.store.add_event(
            "Pod", o.namespace, o.name, "Scheduled", f"Successfully assigned {o.namespace}/{o.name} to {decision.node}"
        )
