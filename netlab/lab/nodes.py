"""Node lifecycle for the lab: fail (power off), recover, cordon, uncordon, drain.

`fail` is seed article 001's fire: the node's namespace and every pod sandbox on it vanish at
once. Pods a Deployment or StatefulSet owns are then re-created on healthy nodes — with new IPs —
by the next reconcile; bare pods stay bound to the dead node, as in Kubernetes.
"""

from __future__ import annotations

from netlab import naming
from netlab.apiserver.state import Lab
from netlab.controllers.garbagecollector import owner_of
from netlab.errors import InvalidInput, NotFound
from netlab.kubelet import sandbox
from netlab.lab import bird, underlay
from netlab.lab.reconcile import Outcome, reconcile


def _states(lab: Lab) -> dict[str, dict]:
    return dict(lab.store.get_meta("nodes") or {})


def _check(lab: Lab, node: str) -> None:
    names = [n.name for n in lab.topo.nodes]
    if node not in names:
        raise NotFound(f'node "{node}" not found (nodes of cluster {lab.name}: {", ".join(names)})')


def _set(lab: Lab, node: str, **flags: bool) -> None:
    states = _states(lab)
    states[node] = {**states.get(node, {}), **flags}
    lab.store.set_meta("nodes", states)


def fail(lab: Lab, node: str) -> Outcome:
    _check(lab, node)
    if _states(lab).get(node, {}).get("failed"):
        raise InvalidInput(f"node {node} has already failed (netlab node recover {node})")
    with lab.store.transaction():
        _set(lab, node, failed=True)
        lab.store.delete_meta(f"rules:{node}")
        lab.store.add_event("Node", "", node, "NodeFailed", "powered off: its namespace and every pod on it are gone", "Warning")
    pods = [o for o in lab.store.list("Pod") if o.status.get("nodeName") == node]
    underlay.unplug(lab.topo, node)
    sandbox.destroy_many([o.status["sandbox"]["netns"] for o in pods if o.status.get("sandbox")], grace=0.5)
    # The node's own processes (BIRD in a bgp lab) die with it, or they would keep its
    # namespace, and so its link to the fabric, alive.
    if lab.topo.routing == "bgp":
        bird.power_off(lab.name, node)
    sandbox.destroy_many([naming.node_netns(lab.name, node)], grace=0.5)
    return reconcile(lab)


def recover(lab: Lab, node: str) -> Outcome:
    _check(lab, node)
    with lab.store.transaction():
        _set(lab, node, failed=False)
        lab.store.add_event("Node", "", node, "NodeRecovered", "powered on again; bare pods bound to it get new sandboxes")
    return reconcile(lab)


def cordon(lab: Lab, node: str, unschedulable: bool = True) -> None:
    _check(lab, node)
    with lab.store.transaction():
        _set(lab, node, unschedulable=unschedulable)
        lab.store.add_event("Node", "", node, "NodeNotSchedulable" if unschedulable else "NodeSchedulable", "cordoned" if unschedulable else "uncordoned")


def drain(lab: Lab, node: str, force: bool = False) -> tuple[list[str], Outcome]:
    """Cordon, then evict every pod on the node; bare pods only with force (kubectl's rule)."""
    _check(lab, node)
    pods = [o for o in lab.store.list("Pod") if o.status.get("nodeName") == node]
    bare = [o for o in pods if owner_of(o) is None]
    if bare and not force:
        names = ", ".join(f"{o.namespace}/{o.name}" for o in bare)
        raise InvalidInput(
            f"cannot delete Pods not managed by ReplicationController, ReplicaSet, Job, DaemonSet or "
            f"StatefulSet (use --force to override): {names}"
        )
    cordon(lab, node)
    with lab.store.transaction():
        for o in pods:
            lab.store.delete("Pod", o.namespace, o.name)
            lab.store.add_event("Node", "", node, "Evicted", f"evicted pod {o.namespace}/{o.name}")
    return [f"{o.namespace}/{o.name}" for o in pods], reconcile(lab)
