"""One reconcile: desired (store) → plan (pure) → apply (idempotent) → observed status (store).

Level-triggered, like Kubernetes' controllers: every run looks at everything, so a second run
changes nothing and a run after a crash finishes what the crashed one started. This file is
only the step list; each step lives in the room of the component that owns it:

1. the lab's underlay: wire nodes, fabric and host routes        `lab/underlay.py`
   the apiserver's bootstrap: default/kubernetes, system namespaces `apiserver/bootstrap.py`
2. the controller manager: workloads, eviction, garbage          `controllers/manager.py`
3. the scheduler: bind pending pods to nodes                     `controllers/scheduler.py`
4. publish (before the kubelet tears down, so traffic leaves a deleted pod first; when pods
   only come, after they are there):
   MetalLB's controller allocates LB IPs                          `metallb/controller.py`
   endpoints from ready pods                                      `controllers/endpoints.py`
   kube-proxy + NetworkPolicy rules per node, stale UDP flushed   `proxy/sync.py`
   MetalLB's speakers announce LB and external IPs                `metallb/speaker.py`
   CoreDNS's records                                              `dns/publish.py`
   the ingress and gateway routes, Ingress/Gateway/HTTPRoute status `ingress/publish.py`
5. the kubelet: pod sandboxes (CNI), a new pod's containers as   `kubelet/sandboxes.py`,
   soon as its sandbox is made, then probes, exits and restarts   `kubelet/sync.py`
   with back-off
"""

from __future__ import annotations

from dataclasses import dataclass, field

from netlab.apiserver import bootstrap
from netlab.apiserver.state import Lab
from netlab.controllers import endpoints, manager, nodelifecycle, scheduler
from netlab.dns import publish as dns
from netlab.ingress import publish as ingress
from netlab.kernel import runtime
from netlab.kubelet import sandboxes
from netlab.kubelet import sync as kubelet
from netlab.kubelet.status import pod_ready
from netlab.lab import underlay
from netlab.metallb import controller as metallb
from netlab.metallb import speaker
from netlab.policy.inputs import policy_inputs
from netlab.proxy import sync as proxy

# Workload controllers take one step per round (a rollout moves within maxSurge and
# maxUnavailable); rounds repeat while they make progress, so one `apply` usually finishes.
MAX_ROUNDS = 30


@dataclass
class Outcome:
    """What a reconcile did and what it could not do (partial failures, for exit code 1)."""

    problems: list[str] = field(default_factory=list)
    created_pods: int = 0
    deleted_pods: int = 0
    synced_nodes: int = 0


def reconcile(lab: Lab, *, wire: bool = True, launch: runtime.Launcher = runtime.launch_many) -> Outcome:
    """The whole step list. `wire=False` skips re-checking the underlay (fabric, nodes, host
    routes: ~50 ms of netlink reads), for the control plane's reactions to what happens inside
    pods (a container exit, a probe), which cannot have changed it. `launch` starts the
    containers (the control plane passes its runtime shim's)."""
    out = Outcome()
    down = frozenset(nodelifecycle.failed_nodes(lab))
    if wire:
        underlay.ensure_cluster_network(lab.topo, down)
    bootstrap.ensure_system_objects(lab)
    for round_ in range(MAX_ROUNDS):
        changed = manager.run(lab, readiness(lab))
        if round_ and not changed:
            # What the kubelet did last round (containers started, a verdict flipped) moved no
            # controller: the scheduler and the kubelet have nothing new either (a container's
            # exit wakes the control plane by itself). Publish once, below.
            break
        scheduler.schedule_pods(lab)
        # Published before the kubelet acts, so traffic leaves a pod that goes first — unless
        # pods only come: then once they are there (an `apply` of a thousand pods published
        # everything twice, the first time with none of them).
        deferred = sandboxes.only_new(lab, down)
        if not deferred:
            _publish(lab, down, out)
        pods_before = (out.created_pods, out.deleted_pods)
        # A new pod's containers start as soon as its sandbox is made, while the next is made.
        new_pods = kubelet.NewPods(lab, launch)
        try:
            created, deleted = sandboxes.sync_sandboxes(lab, down, out.problems, new_pods.started)
        finally:
            started = new_pods.finish()
        out.created_pods += created
        out.deleted_pods += deleted
        kubelet_changed = kubelet.sync_containers(lab, launch) or started
        # A readiness verdict that flipped in this round is news for the controllers too (a
        # rollout waits for it): one more round, or the rollout stalls until something else
        # wakes the control plane — the next probe passes again and flips nothing.
        if not changed and not kubelet_changed:
            break
    # Publish (again) only if the kubelet's part changed what endpoints, rules or DNS depend on.
    if deferred or kubelet_changed or (out.created_pods, out.deleted_pods) != pods_before:
        _publish(lab, down, out)
    lab.store.set_observed_revision(lab.store.revision())
    return out


def kubelet_pass(lab: Lab, launch: runtime.Launcher = runtime.launch_many) -> Outcome:
    """Only the kubelet's timed work — due probes and back-off restarts — and, if that changed
    what others depend on (a verdict flipped, a container restarted), a whole reconcile: the
    endpoints, rules and DNS follow, and so do rollouts waiting for readiness. What the control
    plane runs when only a timer woke it: a probe that passes again every second must not cost
    a whole reconcile every second."""
    if kubelet.sync_containers(lab, launch):
        return reconcile(lab, wire=False, launch=launch)
    return Outcome()


def readiness(lab: Lab) -> dict[tuple[str, str], bool]:
    return {(o.namespace, o.name): pod_ready(o.status) for o in lab.store.list("Pod")}


def _publish(lab: Lab, down: frozenset[str], out: Outcome) -> None:
    metallb.allocate(lab)
    views = endpoints.pod_views(lab)
    services = endpoints.service_endpoints(lab, views)
    out.synced_nodes += proxy.sync_rules(lab, services, policy_inputs(lab, views), down, out.problems)
    speaker.announce_services(lab, services, down, out.problems)
    dns.publish(lab, services, views)
    ingress.publish(lab, services)
    ingress.publish_gateway(lab, services)
