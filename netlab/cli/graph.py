"""`netlab graph`: the lab's topology as SVG/PNG (Graphviz), DOT, Mermaid, or a terminal tree."""

from __future__ import annotations

from typing import Optional

import typer

from netlab.cli.common import ClusterOption, console, note, open_alive
from netlab.errors import require_root
from netlab.views import graph


def register(app: typer.Typer) -> None:
    @app.command("graph")
    def graph_(
        output: Optional[str] = typer.Option(None, "-o", "--output", help="FILE.svg, .png (Graphviz), .dot or .mmd (Mermaid); a tree in the terminal when not given."),
        cluster: str = ClusterOption,
    ) -> None:
        """Draw the lab: fabric, nodes (/24, underlay IP), bridges, veth pairs, pods (IP, labels), Services and their endpoints."""
        require_root()
        facts = graph.gather(open_alive(cluster))
        if output is None:
            console().print(graph.to_tree(facts), soft_wrap=False)
            return
        graph.write(facts, output)
        note(f"wrote {output}")
