"""A container's state as Kubernetes reports it — running, terminated or waiting — from its
record in the pod's status and its live process.

The readers' part of containers.py (which re-exports it): `get pods` and the endpoints step
call it for every container, and it imports nothing but the process table.
"""

from __future__ import annotations

import os
from typing import Any

from netlab.kernel import procs


def exec_spec_path(directory: str, container: str) -> str:
    """Where a started container's exec spec is kept (containers._record_exec_spec)."""
    return os.path.join(directory, f"{container}.exec.json")


def log_path(directory: str, container: str, restart_count: int) -> str:
    """A container instance's CRI log, as the kubelet lays them out under
    /var/log/pods/<ns>_<pod>_<uid>/: `<container>/<restartCount>.log` in the pod's directory."""
    return os.path.join(directory, container, f"{restart_count}.log")


def observe(record: dict[str, Any], ctx_dir: str) -> dict[str, Any]:
    """The container's state as Kubernetes reports it: running, terminated or waiting."""
    if "error" in record:
        return {"waiting": {"reason": record.get("reason", "RunContainerError"), "message": record["error"]}}
    ref = procs.ProcessRef(record["pid"], record["procStart"])
    if procs.alive(ref):
        return {"running": {"startedAt": record["startedAt"]}}
    code = procs.read_exit_code(os.path.join(ctx_dir, f"{record['name']}.exit"))
    if code is None:
        return {"terminated": {"exitCode": 137, "reason": "Error", "message": "process disappeared"}}
    return {"terminated": {"exitCode": code, "reason": "Completed" if code == 0 else "Error"}}


def ready(record: dict[str, Any], directory: str) -> bool:
    """Running, and passing its readiness probe if it has one."""
    return is_ready(record, observe(record, directory))


def is_ready(record: dict[str, Any], state: dict[str, Any]) -> bool:
    """`ready` for a container whose state was just observed (one look at its process, not two)."""
    return "running" in state and record.get("readiness", {"ok": True})["ok"]
