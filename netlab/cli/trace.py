"""`netlab trace SRC DST[:PORT]`: every hop of a packet, named by the real kernel objects."""

from __future__ import annotations

import json
import sys
from enum import Enum

import typer
from rich.tree import Tree

from netlab.cli.common import ClusterOption, NamespaceOption, Protocol, console, open_alive
from netlab.errors import require_root
from netlab.trace import run
from netlab.trace.model import DELIVERED, Trace
from netlab.trace.walk import endpoint_text


class TraceOutput(str, Enum):
    tree = "tree"
    json = "json"


def tree(result: Trace) -> Tree:
    """The trace as a rich Tree: one numbered branch per step, its rules and choices below."""
    packet = result.packet
    target = _escape(endpoint_text(packet.dst, packet.dport))
    root = Tree(f"[bold]{result.source}[/] → [bold]{_escape(result.destination)}[/]  ({packet.src} → {target}/{packet.protocol})")
    for n, step in enumerate(result.steps, 1):
        branch = root.add(f"[bold]{n}.[/] [cyan]{step.kind}[/] [dim]{step.where}[/]  {_escape(step.object)}\n   ⇒ {_escape(step.decision)}")
        for line in step.details:
            branch.add(f"[dim]{_escape(line)}[/]")
    colour = "green" if result.verdict == DELIVERED else "red"
    root.add(f"[bold {colour}]{result.verdict.upper()}[/]: {_escape(result.reason)}" + (f"  (endpoint {_escape(result.endpoint)})" if result.endpoint else ""))
    return root


def _escape(text: str) -> str:
    return text.replace("[", "\\[")


def register(app: typer.Typer) -> None:
    @app.command("trace")
    def trace(
        source: str = typer.Argument(..., help="A pod name, a node name, or host."),
        destination: str = typer.Argument(..., help="A pod, Service (svc, svc.ns), DNS name or IP, with an optional :PORT."),
        protocol: Protocol = typer.Option(Protocol.tcp, "--protocol", help="tcp or udp."),
        output: TraceOutput = typer.Option(TraceOutput.tree, "-o", "--output", help="tree (default) or json."),
        probe: bool = typer.Option(False, "--probe", help="Also send one real connection and read the endpoint it got from conntrack."),
        host: str = typer.Option("", "--host", help="The HTTP Host header, for a connection that ends in an ingress controller: "
                                 "the trace follows nginx's server, location and upstream to the backend pod."),
        http_path: str = typer.Option("/", "--path", help="The HTTP path (with ?query) nginx routes by."),
        header: list[str] = typer.Option([], "--header", "-H", help="An HTTP header 'Name: value' an HTTPRoute may match on (repeatable)."),
        namespace: str = NamespaceOption,
        cluster: str = ClusterOption,
    ) -> None:
        """Show the path of a connection hop by hop — DNS, routes, veths, bridges, iptables chains,
        the node route, the listening process — from the live kernel state, or where it stops and why.

        Example: netlab trace pod-b pod-service:80 --probe;
        netlab trace host 172.31.255.200:80 --host shop.example --path /cart
        """
        require_root()
        lab = open_alive(cluster)
        result, _ = run.trace(lab, run.Request(source, destination, protocol.value, namespace, host, http_path,
                                                   tuple(tuple(part.strip() for part in h.split(":", 1)) for h in header if ":" in h)), probe)
        if output == TraceOutput.json:
            sys.stdout.write(json.dumps(result.to_dict(), indent=2) + "\n")
        else:
            console().print(tree(result), soft_wrap=False)
