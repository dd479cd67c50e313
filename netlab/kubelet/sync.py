"""The kubelet's container step: start containers, observe exits, run probes, restart with
back-off (`restarts.py`), and record what it saw in the pod's status."""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass

from netlab import naming
from netlab.api.models import Pod
from netlab.apiserver.state import Lab, pod_model
from netlab.apiserver.store import StoredObject
from netlab.kernel import ns, procs, runtime
from netlab.kubelet import containers, podenv, probes, sandbox, volumes
from netlab.kubelet.podfiles import pod_hostname
from netlab.kubelet.restarts import restart_delay, should_restart


def pod_context(lab: Lab, o: StoredObject, pod: Pod) -> containers.PodContext:
    netns = o.status["sandbox"]["netns"]
    fields = _pod_fields(o, pod)
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
        fields=fields,
        volumes=tuple(pod.spec.volumes),
        sources=config_sources(lab, o.namespace, fields),
    )


def _pod_fields(o: StoredObject, pod: Pod) -> podenv.PodFields:
    return podenv.PodFields(
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
    )


def config_sources(lab: Lab, namespace: str, fields: podenv.PodFields) -> volumes.Sources:
    """The ConfigMaps and Secrets of the pod's namespace, read from the store when first asked
    (the kubelet's configMapManager / secretManager), and its Downward API values."""
    cache: dict[tuple[str, str], object] = {}

    def get(kind: str, name: str):
        if (kind, name) not in cache:
            from netlab.api.kinds import object_from_dict

            o = lab.store.get(kind, namespace, name)
            cache[(kind, name)] = None if o is None else object_from_dict(o.manifest)
        return cache[(kind, name)]

    def field(path: str) -> str:
        if path in ("metadata.labels", "metadata.annotations"):
            return volumes.format_map(fields.labels if path == "metadata.labels" else fields.annotations)
        return fields.value(path)

    return volumes.Sources(lambda name: get("ConfigMap", name), lambda name: get("Secret", name), field)


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


def sync_containers(lab: Lab, launch: runtime.Launcher = runtime.launch_many) -> bool:
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
        passes.append(_pod_pass(lab, o, now, variables, starts))
    launched = launch([start.spec for _, start in starts if start.spec is not None])
    try:
        for this, start in starts:
            outcome = next(launched) if start.spec is not None else None
            this.records[start.container.name] = containers.finish(start, outcome)
    finally:
        launched.close()
    return _write_statuses(lab, passes)


class NewPods:
    """The kubelet's pod workers for the pods whose sandbox this pass makes: each new pod's
    containers are sent to the runtime as soon as its sandbox is ready (`started`), and the
    runtime's shim forks them on the other core while this process makes the next sandboxes —
    a pass of a thousand new pods no longer makes every sandbox first and then waits for a
    thousand forks. `finish` records what started; the pass's `sync_containers` then finds
    them running."""

    def __init__(self, lab: Lab, launch: runtime.Launcher) -> None:
        self._lab = lab
        self._now = time.time()
        self._variables = ServiceVariables(lab)
        self._passes: list[_PodPass] = []
        self._starts: list[tuple[_PodPass, containers.Start]] = []
        # The runtime's shim takes the launches as they come (`Spawner.stream`); a launcher
        # that forks from this process (`runtime.launch_many`) is run from a thread.
        stream = getattr(launch, "stream", None)
        self._launcher = stream() if stream is not None else _Background(launch)

    def started(self, o: StoredObject) -> None:
        """The pod's sandbox is made (`o` with its new status): start its containers."""
        first = len(self._starts)
        self._passes.append(_pod_pass(self._lab, o, self._now, self._variables, self._starts))
        self._launcher.submit([start.spec for _, start in self._starts[first:] if start.spec is not None])

    def finish(self) -> bool:
        """Record how the launches went; True when a container started."""
        outcomes = iter(self._launcher.outcomes())
        for this, start in self._starts:
            this.records[start.container.name] = containers.finish(start, next(outcomes) if start.spec is not None else None)
        return _write_statuses(self._lab, self._passes)


class _Background:
    """Launches sent to the runtime from a thread, as they come; their outcomes in order. The
    thread takes whatever was submitted since its last batch, so the runtime's window stays
    full while the caller goes on (it waits on the shim's answers with the GIL released)."""

    def __init__(self, launch: runtime.Launcher) -> None:
        self._launch = launch
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._outcomes: list[runtime.LaunchOutcome] = []
        self._failure: BaseException | None = None
        self._thread: threading.Thread | None = None

    def submit(self, specs: list[runtime.Launch]) -> None:
        if not specs:
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="pod-workers", daemon=True)
            self._thread.start()
        self._queue.put(specs)

    def outcomes(self) -> list[runtime.LaunchOutcome]:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
        if self._failure is not None:
            raise self._failure
        return self._outcomes

    def _run(self) -> None:
        done = False
        while not done:
            batch = self._queue.get()
            if batch is None:
                return
            while True:  # and everything submitted meanwhile
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    done = True
                    break
                batch = batch + more
            try:
                self._outcomes.extend(self._launch(batch))
            except BaseException as exc:  # raised to the caller by outcomes()
                self._failure = exc
                return


def _pod_pass(
    lab: Lab, o: StoredObject, now: float, variables: ServiceVariables, starts: list[tuple[_PodPass, containers.Start]]
) -> _PodPass:
    """One pod's part of a pass: what it observes, probes and restarts; the containers to
    start are added to `starts`."""
    pod = pod_model(o)
    ctx = pod_context(lab, o, pod)
    # Copies: the records change below, and the stored object is shared with later reads.
    this = _PodPass(o, {r["name"]: dict(r) for r in o.status.get("containers") or []}, [c.name for c in pod.spec.containers])
    failed = volumes.setup(ctx.directory, list(pod.spec.volumes), ctx.sources) if pod.spec.volumes else {}
    for container in pod.spec.containers:
        record = this.records.get(container.name)
        if failed and (record is None or record.get("retry")):
            _wait_for_volumes(lab, this, container, record, failed)
            continue
        if record is None or record.get("retry"):
            start = containers.prepare(ctx, container, services=variables.for_pod(o.namespace, pod))
            for text in start.record.pop("warnings", []):
                lab.store.add_event("Pod", o.namespace, o.name, "InvalidEnvironmentVariableNames", text, "Warning")
            if record is not None and start.spec is None and start.record.get("error") == record.get("error"):
                continue  # still waiting for the same thing (a ConfigMap, a Secret)
            if start.record.get("retry"):
                lab.store.add_event("Pod", o.namespace, o.name, "Failed", f"Error: {start.record['error']}", "Warning")
            starts.append((this, start))
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
        restart.record.pop("warnings", None)
        starts.append((this, restart))
        lab.store.add_event("Pod", o.namespace, o.name, "Restarted", f"container {container.name} restarted (exit code {state['terminated']['exitCode']})")
        this.changed = this.significant = True
    return this


def _write_statuses(lab: Lab, passes: list[_PodPass]) -> bool:
    changed = [this for this in passes if this.changed]
    if changed:
        with lab.store.transaction():  # one commit for the pass, not one a pod
            for this in changed:
                status = dict(this.obj.status)
                status["containers"] = [this.records[name] for name in this.order if name in this.records]
                lab.store.set_status("Pod", this.obj.namespace, this.obj.name, status)
    return any(this.significant for this in passes)


def _wait_for_volumes(lab: Lab, this: _PodPass, container, record: dict | None, failed: dict[str, str]) -> None:
    """The volume manager's WaitForAttachAndMount: no container of the pod starts until every
    volume is set up; it waits as ContainerCreating, with a FailedMount event per new failure."""
    message = next(iter(failed.values()))
    if record is not None and record.get("error") == message:
        return
    o = this.obj
    for text in failed.values():
        lab.store.add_event("Pod", o.namespace, o.name, "FailedMount", text, "Warning")
    this.records[container.name] = {"name": container.name, "image": container.image, "restartCount": 0,
                                    "error": message, "reason": "ContainerCreating", "retry": True}  # fmt: skip
    this.changed = True


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
