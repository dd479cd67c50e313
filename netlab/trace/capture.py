"""Capture: tcpdump inside a pod's or node's network namespace.

tcpdump is started on a thread that entered the namespace (`ns.entered`), so it sees exactly
the pod's `eth0` or the node's `cni0`, `eth0` and veths. `-w FILE` writes a pcap Wireshark
opens; packets are flushed as they come (`-U`), so an interrupted capture keeps what it saw.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass

from netlab import naming
from netlab.apiserver.state import Lab
from netlab.errors import EnvironmentProblem, InvalidInput, NotFound
from netlab.kernel import ns


@dataclass(frozen=True)
class Capture:
    netns: str
    iface: str
    argv: list[str]


def tcpdump_argv(tcpdump: str, iface: str, write: str | None, count: int | None, expression: list[str]) -> list[str]:
    # -n: no reverse lookups (the lab's addresses have no names off the machine, and netlab never
    # sends a query out); -Z root: keep the right to write FILE where root asked for it.
    argv = [tcpdump, "-n", "-i", iface, "-Z", "root"]
    if write:
        argv += ["-U", "-w", write]
    if count is not None:
        argv += ["-c", str(count)]
    return argv + expression


def target_netns(lab: Lab, target: str, namespace: str) -> tuple[str, str]:
    """(netns name, default interface) of a node or a pod."""
    if any(n.name == target for n in lab.topo.nodes):
        netns = naming.node_netns(lab.name, target)
        if not ns.is_pinned(ns.netns_path(netns)):
            raise InvalidInput(f"node {target} is down (its namespace {netns} does not exist)")
        return netns, naming.NODE_BRIDGE
    obj = lab.store.get("Pod", namespace, target.removeprefix("pod/"))
    if obj is None:
        raise NotFound(f'no node or pod "{target}" in namespace "{namespace}"')
    box = obj.status.get("sandbox") or {}
    if box.get("uid") != obj.uid or not ns.is_pinned(ns.netns_path(box.get("netns", ""))):
        raise InvalidInput(f"pod {target} has no running sandbox (see: netlab describe pod {target} -n {namespace})")
    return box["netns"], naming.POD_IFACE


def prepare(lab: Lab, target: str, namespace: str, iface: str | None, write: str | None, count: int | None, expression: list[str]) -> Capture:
    """What to run where; refuses a missing tcpdump or a target without a namespace."""
    tcpdump = shutil.which("tcpdump")
    if tcpdump is None:
        raise EnvironmentProblem("tcpdump not found", detail="install it: apt-get install tcpdump (scripts/setup.sh does)")
    netns, default_iface = target_netns(lab, target, namespace)
    words = [w for w in expression if w != "--"]
    chosen = iface or default_iface
    return Capture(netns, chosen, tcpdump_argv(tcpdump, chosen, os.path.abspath(write) if write else None, count, words))


def run(capture: Capture) -> int:
    """Run tcpdump until it ends or Ctrl-C; its exit code."""
    with ns.entered(ns.netns_path(capture.netns)):
        child = subprocess.Popen(capture.argv)
    try:
        return child.wait()
    except KeyboardInterrupt:
        return child.wait()  # tcpdump got the same SIGINT; let it print its summary
