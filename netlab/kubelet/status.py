"""A pod's observed state, as the kubelet reports it: phase and STATUS column, container
statuses, and readiness (the one rule endpoints, controllers and `get` share).

Read-only: it looks at the store and at whether recorded processes are alive, never changes
anything, so `get` shows what is true now even without a controller running.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from netlab.apiserver.store import StoredObject
from netlab.kernel import ns
from netlab.kubelet import containerstate
from netlab.kubelet.restarts import should_restart

if TYPE_CHECKING:
    from netlab.api.models import Pod


@dataclass(frozen=True)
class PodState:
    phase: str  # Pending | Running | Succeeded | Failed | Unknown
    display: str  # kubectl's STATUS column: Running, ContainerCreating, Completed, Error, ...
    ready: int
    total: int
    restarts: int
    container_statuses: tuple[dict[str, Any], ...]


def pod_state(obj: StoredObject, pod: Pod) -> PodState:
    status = obj.status
    total = len(pod.spec.containers)
    if not status.get("nodeName"):
        return PodState("Pending", "Pending", 0, total, 0, ())
    box = status.get("sandbox") or {}
    if box.get("uid") != obj.uid:
        return PodState("Pending", "ContainerCreating", 0, total, 0, ())
    if not os.path.exists(ns.netns_path(box["netns"])):
        return PodState("Unknown", "Unknown", 0, total, 0, ())
    records = {r["name"]: r for r in status.get("containers") or []}
    statuses = []
    for c in pod.spec.containers:
        record = records.get(c.name)
        last = None
        if record is None:
            state: dict[str, Any] = {"waiting": {"reason": "ContainerCreating"}}
        else:
            state = containerstate.observe(record, status.get("dir", ""))
            if record.get("finishedAt") and should_restart(pod.spec.restartPolicy, state):
                # Exited and waiting out the kubelet's restart back-off.
                last = state
                state = {"waiting": {"reason": "CrashLoopBackOff", "message": f"back-off restarting failed container {c.name}"}}
        entry = {
            "name": c.name,
            "image": c.image,
            "ready": bool(record) and containerstate.is_ready(record, state),
            "started": "running" in state,
            "restartCount": record.get("restartCount", 0) if record else 0,
            "state": state,
        }
        if last:
            entry["lastState"] = last
        statuses.append(entry)
    ready = sum(1 for s in statuses if s["ready"])
    restarts = sum(s["restartCount"] for s in statuses)
    phase, display = _phase(pod.spec.restartPolicy, statuses)
    return PodState(phase, display, ready, total, restarts, tuple(statuses))


def _phase(policy: str, statuses: list[dict[str, Any]]) -> tuple[str, str]:
    states = [s["state"] for s in statuses]
    waiting = [s["waiting"]["reason"] for s in states if "waiting" in s]
    terminated = [s["terminated"] for s in states if "terminated" in s]
    if waiting:
        return ("Running" if any("running" in s for s in states) else "Pending"), waiting[0]
    if terminated and len(terminated) == len(states):
        ok = all(t["exitCode"] == 0 for t in terminated)
        if policy == "Never" or (policy == "OnFailure" and ok):
            return ("Succeeded", "Completed") if ok else ("Failed", "Error")
        return "Running", "Completed" if ok else "Error"
    if terminated:
        return "Running", "NotReady"
    return "Running", "Running"


def pod_ready(status: dict) -> bool:
    records = status.get("containers") or []
    return bool(records) and all(containerstate.ready(r, status.get("dir", "")) for r in records)
