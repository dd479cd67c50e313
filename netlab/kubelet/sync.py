"""The kubelet's container step: start containers, observe exits, run probes, restart with
back-off (`restarts.py`), and record what it saw in the pod's status."""

from __future__ import annotations

import time
from dataclasses import dataclass

from netlab import naming
from netlab.api.models import Pod
from netlab.apiserver.state import Lab, pod_model
from netlab.apiserver.store import StoredObject
from netlab.kernel import ns, procs
from netlab.kubelet import containers, podenv, probes, sandbox
from netlab.kubelet.podfiles import pod_hostname
from netlab.kubelet.restarts import restart_delay, should_restart


def pod_context(lab: Lab, o: StoredObject, pod: Pod) -> containers.PodContext:
    netns = o.status["sandbox"]["netns"]
    return containers.PodContext(
        namespace=o.namespace,
        name=o.name,
        ip=o.status["podIP"],
        node=o.status["nodeName"],
        hostname=pod_hostname(pod),
        netns_path=ns.netns_path(netns),
        utsns_path=ns.utsns_path(netns),
        directory=o.status["dir"],
        logs_index=naming.container_logs_index(lab.name),
        dns_records=lab.dns_records,
        ingress_routes=lab.ingress_routes,
        security=pod.spec.securityContext,
        fields=podenv.PodFields(
            name=o.name,
            namespace=o.namespace,
            uid=o.uid,
            node_name=o.status["nodeName"],
            service_account=pod.spec.serviceAccountName or "default",
            pod_ip=o.status["podIP"],
            host_ip=o.status.get("hostIP", ""),
            pod_ips=tuple(o.status.get("podIPs") or ()),
            host_ips=tuple(o.status.get("hostIPs") or ()),
            labels=pod.metadata.labels,
            annotations=pod.metadata.annotations,
        ),
    )


class ServiceVariables:
    """The Service variables per namespace, read from the store once per pass and only when a
    container starts (kubelet reads its Service lister at each container start)."""

    def __init__(self, lab: Lab) -> None:
        self._lab = lab
        self._services: list[tuple[float, podenv.ServiceEnv]] | None = None

    def for_pod(self, namespace: str, pod: Pod, started: float | None = None) -> dict[str, str]:
        """The variables of a container starting now, or (`started`, for `exec`) of one that
        started then: a Service created since is not in its environment."""
        if self._services is None:
            self._services = [(o.created, _service_env(o)) for o in self._lab.store.list("Service")]
        links = pod.spec.enableServiceLinks is not False
        services = [env for created, env in self._services if started is None or created <= started]
        return podenv.service_env(services, namespace, links)


def _service_env(o: StoredObject) -> podenv.ServiceEnv:
    ports = tuple(
        podenv.ServicePortEnv(p.get("name"), p["port"], p.get("protocol", "TCP"))
        for p in (o.manifest.get("spec") or {}).get("ports") or []
    )
    return podenv.ServiceEnv(o.namespace, o.name, o.status.get("clusterIP"), ports)


@dataclass
class _PodPass:
    """One pod's part of a pass: its container records as they become, and whether its status
    must be written (`changed`) and others must know (`significant`)."""

    obj: StoredObject
    records: dict[str, dict]
    order: list[str]  # its containers' names, in spec order
    changed: bool = False
    significant: bool = False


def sync_containers(lab: Lab, launch: procs.Launcher = procs.launch_many) -> bool:
    """Start, observe, probe and restart containers; True when what others depend on changed —
    a container started, exited or restarted, a probe's verdict flipped — not when a probe only
    passed (or failed) again, which is bookkeeping in the pod's status.

    The containers to start are launched together at the end of the pass, in one batch: the
    runtime's shim forks each while this process records the one before."""
    now = time.time()
    variables = ServiceVariables(lab)
    passes: list[_PodPass] = []
    starts: list[tuple[_PodPass, containers.Start]] = []
    for o in lab.store.list("Pod"):
        box = o.status.get("sandbox") or {}
        if box.get("uid") != o.uid or not sandbox.exists(box["netns"]):
            continue  # no sandbox yet, or it went with a failed node
        pod = pod_model(o)
        ctx = pod_context(lab, o, pod)
        this = _PodPass(o, {r["name"]: r for r in o.status.get("containers") or []}, [c.name for c in pod.spec.containers])
        passes.append(this)
        for container in pod.spec.containers:
            record = this.records.get(container.name)
            if record is None:
                starts.append((this, containers.prepare(ctx, container, services=variables.for_pod(o.namespace, pod))))
                this.changed = this.significant = True
                continue
            if "error" in record:
                continue
            state = containers.observe(record, ctx.directory)
            if "running" in state:
                probed, flipped = _probe(lab, o, ctx, container, record, now)
                this.changed |= probed
                this.significant |= flipped
                continue
            if "terminated" not in state:
                continue
            if "finishedAt" not in record:
                # Nothing of an exited container may keep running (say, the child of a killed
                # wrapper still holding the port the restarted container needs).
                procs.kill_leftovers(record["pid"], ctx.netns_path)
                record["finishedAt"] = now
                this.changed = this.significant = True
            if not should_restart(pod.spec.restartPolicy, state):
                continue
            restarts = record.get("restartCount", 0)
            if now - record["finishedAt"] < restart_delay(restarts):
                continue
            restart = containers.prepare(ctx, container, restarts + 1, variables.for_pod(o.namespace, pod))
            starts.append((this, restart))
            lab.store.add_event("Pod", o.namespace, o.name, "Restarted", f"container {container.name} restarted (exit code {state['terminated']['exitCode']})")
            this.changed = this.significant = True
    launched = launch([start.spec for _, start in starts if start.spec is not None])
    try:
        for this, start in starts:
            outcome = next(launched) if start.spec is not None else None
            this.records[start.container.name] = containers.finish(start, outcome)
    finally:
        launched.close()
    for this in passes:
        if this.changed:
            status = dict(this.obj.status)
            status["containers"] = [this.records[name] for name in this.order if name in this.records]
            lab.store.set_status("Pod", this.obj.namespace, this.obj.name, status)
    return any(this.significant for this in passes)


def _probe(lab: Lab, o: StoredObject, ctx, container, record: dict, now: float) -> tuple[bool, bool]:
    """Run the container's due probes; a failed liveness probe kills it (restartPolicy decides).
    Returns (a probe ran, a verdict flipped)."""
    changed = flipped = False
    node_netns = ns.netns_path(naming.node_netns(lab.name, ctx.node))
    for kind, probe in (("readiness", container.readinessProbe), ("liveness", container.livenessProbe)):
        if probe is None or kind not in record or not probes.due(record[kind], probe, record["startedAt"], now):
            continue
        ok, message = probes.run(probe, container, ctx.ip, node_netns, containers.launch_spec(ctx, container))
        before = record[kind]["ok"]
        record[kind] = probes.update(record[kind], probe, ok, message, now)
        changed = True
        flipped |= record[kind]["ok"] != before
        if not ok:
            lab.store.add_event("Pod", o.namespace, o.name, "Unhealthy", f"{kind.capitalize()} probe failed: {message}", "Warning")
        if kind == "liveness" and before and not record[kind]["ok"]:
            lab.store.add_event("Pod", o.namespace, o.name, "Killing", f"Container {container.name} failed liveness probe, will be restarted")
            procs.terminate([procs.ProcessRef(record["pid"], record["procStart"])], grace=1.0)
    return changed, flipped
