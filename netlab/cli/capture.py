"""`netlab capture POD|NODE`: tcpdump inside the pod's or node's network namespace.

tcpdump runs on this thread after entering the namespace (`ns.entered`), so it sees exactly the
pod's `eth0` or the node's `cni0`, `eth0` and veths. `-w FILE` writes a pcap Wireshark opens;
packets are flushed as they come (`-U`), so an interrupted capture keeps what it saw.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import List, Optional

import typer

from netlab import naming
from netlab.cli.common import ClusterOption, NamespaceOption, note
from netlab.lab.lifecycle import require_root
from netlab.errors import EnvironmentProblem, InvalidInput, NotFound
from netlab.kernel import ns
from netlab.apiserver.state import Lab, open_lab


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


def register(app: typer.Typer) -> None:
    @app.command("capture", context_settings={"allow_interspersed_args": False})
    def capture(
        target: str = typer.Argument(..., help="A pod or node name."),
        expression: Optional[List[str]] = typer.Argument(None, help="tcpdump filter after --, e.g. -- tcp port 80"),
        iface: Optional[str] = typer.Option(None, "-i", "--interface", help="Interface (default: eth0 in a pod, cni0 in a node)."),
        write: Optional[str] = typer.Option(None, "-w", "--write", help="Write a pcap file (open it with Wireshark) instead of printing."),
        count: Optional[int] = typer.Option(None, "-c", "--count", min=1, help="Stop after this many packets."),
        namespace: str = NamespaceOption,
        cluster: str = ClusterOption,
    ) -> None:
        """Run tcpdump inside a pod's or node's network namespace (Ctrl-C to stop).

        Example: netlab capture pod-a -w a.pcap -c 20 -- tcp port 80
        """
        require_root()
        tcpdump = shutil.which("tcpdump")
        if tcpdump is None:
            raise EnvironmentProblem("tcpdump not found", detail="install it: apt-get install tcpdump (scripts/setup.sh does)")
        lab = open_lab(cluster)
        netns, default_iface = target_netns(lab, target, namespace)
        filter_words = [w for w in (expression or []) if w != "--"]
        argv = tcpdump_argv(tcpdump, iface or default_iface, os.path.abspath(write) if write else None, count, filter_words)
        note(f"capturing on {iface or default_iface} in netns {netns}" + (f", writing {write}" if write else ""))
        with ns.entered(ns.netns_path(netns)):
            child = subprocess.Popen(argv)
        try:
            code = child.wait()
        except KeyboardInterrupt:
            code = child.wait()  # tcpdump got the same SIGINT; let it print its summary
        raise typer.Exit(code)
