"""`netlab capture POD|NODE`: tcpdump inside the pod's or node's network namespace."""

from __future__ import annotations

from typing import List, Optional

import typer

from netlab.cli.common import ClusterOption, NamespaceOption, note, open_alive
from netlab.errors import require_root
from netlab.trace import capture as tcpdump


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
        lab = open_alive(cluster)
        plan = tcpdump.prepare(lab, target, namespace, iface, write, count, expression or [])
        note(f"capturing on {plan.iface} in netns {plan.netns}" + (f", writing {write}" if write else ""))
        raise typer.Exit(tcpdump.run(plan))
