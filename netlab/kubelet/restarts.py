"""Restarts, the kubelet's way: which exits restartPolicy restarts, and the CrashLoopBackOff
delay before each restart (the first at once, then 10 s doubling up to 5 minutes)."""

from __future__ import annotations

from typing import Any


def should_restart(policy: str, state: dict[str, Any]) -> bool:
    """restartPolicy: Always restarts any exit, OnFailure a non-zero one, Never none."""
    if "terminated" not in state:
        return False
    if policy == "Always":
        return True
    return policy == "OnFailure" and state["terminated"]["exitCode"] != 0


BACKOFF_BASE = 10.0


BACKOFF_MAX = 300.0


def restart_delay(restarts: int) -> float:
    """How long an exited container waits before its next start: the first restart at once,
    then 10 s doubling up to 5 minutes (kubelet's CrashLoopBackOff)."""
    return min(BACKOFF_BASE * 2 ** max(restarts - 1, 0), BACKOFF_MAX) if restarts else 0.0
