"""When the kubelet must act next, so the control plane sleeps until exactly then.

A real kubelet wakes on container events (PLEG) and on its probe workers' timers; netlab's
control plane does the same: it waits on every running container's exit (a pidfd per
process) and until the earliest of the due probes and the back-off restarts computed here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from netlab.apiserver.state import pod_model
from netlab.apiserver.store import StoredObject
from netlab.kernel import procs
from netlab.kubelet import containers
from netlab.kubelet.restarts import restart_delay, should_restart


@dataclass(frozen=True)
class Wakeups:
    at: float | None  # the earliest due probe or restart (wall clock), None when nothing is due
    processes: list[procs.ProcessRef] = field(default_factory=list)  # wake when one exits


def wakeups(pods: Iterable[StoredObject], down: frozenset[str] = frozenset()) -> Wakeups:
    due: list[float] = []
    running: list[procs.ProcessRef] = []
    for o in pods:
        box = o.status.get("sandbox") or {}
        if box.get("uid") != o.uid or o.status.get("nodeName") in down:
            continue
        records = {r["name"]: r for r in o.status.get("containers") or []}
        if not records:
            continue
        pod = pod_model(o)
        for container in pod.spec.containers:
            record = records.get(container.name)
            if record is None or "error" in record:
                continue
            state = containers.observe(record, o.status["dir"])
            if "running" in state:
                running.append(procs.ProcessRef(record["pid"], record["procStart"]))
                due += _probes_due(container, record)
            elif "finishedAt" not in record:
                due.append(0.0)  # exited since the last look: observe it now
            elif should_restart(pod.spec.restartPolicy, state):
                due.append(record["finishedAt"] + restart_delay(record.get("restartCount", 0)))
    return Wakeups(min(due) if due else None, running)


def _probes_due(container, record: dict) -> list[float]:
    """kubelet's probe workers: the first after initialDelaySeconds, then every periodSeconds."""
    due = []
    for kind, probe in (("readiness", container.readinessProbe), ("liveness", container.livenessProbe)):
        if probe is None or kind not in record:
            continue
        first = record["startedAt"] + probe.initialDelaySeconds
        last = record[kind].get("last")
        due.append(first if last is None else max(first, last + probe.periodSeconds))
    return due
