"""iptables-restore inside a node namespace: one atomic payload per node per sync."""

from __future__ import annotations

import shutil
import subprocess

from netlab.errors import EnvironmentProblem, KernelError
from netlab.kernel import ns


def _binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise EnvironmentProblem(
            f"{name} not found", detail="install it: apt-get install iptables (scripts/setup.sh does)"
        )
    return path


def restore(netns_path: str, payload: str, *, noflush: bool = False) -> None:
    """Load `payload` with iptables-restore in the namespace (the process forks on this thread)."""
    argv = [_binary("iptables-restore"), "-w", "5"]
    if noflush:
        argv.append("--noflush")
    with ns.entered(netns_path):
        result = subprocess.run(argv, input=payload, text=True, capture_output=True)
    if result.returncode != 0:
        raise KernelError(
            f"iptables-restore failed in {netns_path}", detail=result.stderr.strip()
        )


def save(netns_path: str) -> str:
    argv = [_binary("iptables-save")]
    with ns.entered(netns_path):
        result = subprocess.run(argv, text=True, capture_output=True)
    if result.returncode != 0:
        raise KernelError(f"iptables-save failed in {netns_path}", detail=result.stderr.strip())
    return result.stdout
