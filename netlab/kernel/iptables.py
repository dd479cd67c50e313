"""iptables-restore inside a node namespace: one atomic payload per node per sync and per IP
family (iptables-restore for IPv4, ip6tables-restore for IPv6: separate tables in the kernel)."""

from __future__ import annotations

import os
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


def _tool(name: str, family: int) -> str:
    return _binary(name.replace("iptables", "ip6tables") if family == 6 else name)


def restore(netns_path: str, payload: str, *, noflush: bool = False, family: int = 4) -> None:
    """Load `payload` with iptables-restore (ip6tables-restore for family 6) in the namespace
    (the process forks on this thread)."""
    argv = [_tool("iptables-restore", family), "-w", "5"]
    if noflush:
        argv.append("--noflush")
    with ns.entered(netns_path):
        result = subprocess.run(argv, input=payload, text=True, capture_output=True)
    if result.returncode != 0:
        raise KernelError(
            f"{os.path.basename(argv[0])} failed in {netns_path}", detail=result.stderr.strip()
        )


def save(netns_path: str, family: int = 4) -> str:
    argv = [_tool("iptables-save", family)]
    with ns.entered(netns_path):
        result = subprocess.run(argv, text=True, capture_output=True)
    if result.returncode != 0:
        raise KernelError(f"{os.path.basename(argv[0])} failed in {netns_path}", detail=result.stderr.strip())
    return result.stdout
