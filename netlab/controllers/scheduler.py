"""The scheduler: which node a pod runs on (a pure choice), and the step that binds pods.

Kubernetes' rules that netlab keeps: `spec.nodeName` binds directly; `spec.nodeSelector` must
match the node's labels; cordoned or failed nodes take no new pods; a node where another pod
holds one of the pod's hostPorts is no fit (upstream's NodePorts filter); among the rest the
node with the fewest pods wins (ties broken by node order), which spreads a lab's pods evenly.
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


HostPortKey = tuple[str, str, int]  # (hostIP, protocol, hostPort); "0.0.0.0" for every address


def host_ports(manifest: Mapping) -> frozenset[HostPortKey]:
    """What a pod holds on its node (upstream schedutil.GetHostPorts); a hostNetwork pod holds
    every containerPort (the apiserver defaults hostPort to it)."""
    spec = manifest.get("spec") or {}
    host = bool(spec.get("hostNetwork"))
    return frozenset(
        (p.get("hostIP") or "0.0.0.0", p.get("protocol") or "TCP", p.get("hostPort") or p["containerPort"])
        for c in spec.get("containers") or []
        for p in c.get("ports") or []
        if p.get("hostPort") or host
    )


def ports_conflict(used: frozenset[HostPortKey] | set[HostPortKey], wanted: frozenset[HostPortKey]) -> bool:
    """upstream HostPortInfo.CheckConflict: same protocol and port, and the same address or
    either side on every address (0.0.0.0)."""
    return any(
        (proto == p and port == q and "0.0.0.0" in (ip, i)) or (ip, proto, port) == (i, p, q)
        for ip, proto, port in wanted
        for i, p, q in used
    )


def schedule(
    node_name: str | None,
    node_selector: Mapping[str, str],
    nodes: Sequence[NodeInfo],
    pod_counts: Mapping[str, int],
    wanted_ports: frozenset[HostPortKey] = frozenset(),
    used_ports: Mapping[str, set[HostPortKey]] | None = None,
) -> Decision:
    if node_name:
        if any(n.name == node_name for n in nodes):
            return Decision(node_name)
        return Decision(None, f"node {node_name} does not exist")
    used_ports = used_ports or {}
    busy = {n.name for n in nodes if wanted_ports and ports_conflict(used_ports.get(n.name, set()), wanted_ports)}
    fits = [
        n
        for n in nodes
        if n.schedulable and all(n.labels.get(k) == v for k, v in node_selector.items()) and n.name not in busy
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
        if busy:
            parts.append(f"{len(busy)} node(s) didn't have free ports for the requested pod ports")
        return Decision(None, f"0/{len(nodes)} nodes are available: " + ", ".join(parts) + ".")
    order = {n.name: i for i, n in enumerate(nodes)}
    best = min(fits, key=lambda n: (pod_counts.get(n.name, 0), order[n.name]))
    return Decision(best.name)


def schedule_pods(lab: Lab) -> None:
    objs = lab.store.list("Pod")
    counts: dict[str, int] = {}
    used: dict[str, set[HostPortKey]] = {}
    for o in objs:
        node = o.status.get("nodeName")
        if node:
            counts[node] = counts.get(node, 0) + 1
            used.setdefault(node, set()).update(host_ports(o.manifest))
    cordoned = unschedulable_nodes(lab)
    nodes = [NodeInfo(n.name, node_labels(n.name, n.labels), n.name not in cordoned) for n in lab.topo.nodes]
    pending = [o for o in objs if not o.status.get("nodeName")]
    if pending:
        with lab.store.transaction():  # one commit for the pass's bindings, not two a pod
            for o in pending:
                _bind(lab, o, nodes, counts, used)


def _bind(lab: Lab, o, nodes: list[NodeInfo], counts: dict[str, int], used: dict[str, set[HostPortKey]]) -> None:
    """Bind one pending pod to the node `schedule` picks, or record why none fits."""
    pod = pod_model(o)
    wanted = host_ports(o.manifest)
    decision = schedule(pod.spec.nodeName, pod.spec.nodeSelector or {}, nodes, counts, wanted, used)
    if decision.node is None:
        if o.status.get("reason") != "Unschedulable":
            lab.store.add_event("Pod", o.namespace, o.name, "FailedScheduling", decision.reason, "Warning")
        lab.store.set_status("Pod", o.namespace, o.name, {"reason": "Unschedulable", "message": decision.reason})
        return
    counts[decision.node] = counts.get(decision.node, 0) + 1
    used.setdefault(decision.node, set()).update(wanted)
    lab.store.set_status("Pod", o.namespace, o.name, {"nodeName": decision.node})
    lab.store.add_event("Pod", o.namespace, o.name, "Scheduled", f"Successfully assigned {o.namespace}/{o.name} to {decision.node}")
