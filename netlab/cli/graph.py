"""`netlab graph`: the lab's topology as SVG/PNG (Graphviz), DOT, Mermaid, or a terminal tree."""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Optional

import typer

from netlab.views import graph
from netlab.cli.common import ClusterOption, note, out
from netlab.lab.lifecycle import require_root
from netlab.errors import EnvironmentProblem, InvalidInput, KernelError
from netlab.apiserver.state import open_lab

FORMATS = (".svg", ".png", ".dot", ".gv", ".mmd")


def write(facts: graph.LabFacts, path: str) -> None:
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in FORMATS:
        raise InvalidInput(f"{path}: the file name must end in one of {', '.join(FORMATS)}")
    if suffix == ".mmd":
        text = graph.to_mermaid(facts)
    else:
        text = graph.to_dot(facts)
    if suffix in (".dot", ".gv", ".mmd"):
        with open(path, "w") as f:
            f.write(text)
        return
    dot = shutil.which("dot")
    if dot is None:
        raise EnvironmentProblem("dot (Graphviz) not found", detail="install it: apt-get install graphviz (scripts/setup.sh does), or write .dot/.mmd")
    result = subprocess.run([dot, f"-T{suffix[1:]}", "-o", path], input=text, text=True, capture_output=True)
    if result.returncode != 0:
        raise KernelError(f"dot could not render {path}", detail=result.stderr.strip())


def register(app: typer.Typer) -> None:
    @app.command("graph")
    def graph_(
        output: Optional[str] = typer.Option(None, "-o", "--output", help="FILE.svg, .png (Graphviz), .dot or .mmd (Mermaid); a tree in the terminal when not given."),
        cluster: str = ClusterOption,
    ) -> None:
        """Draw the lab: fabric, nodes (/24, underlay IP), bridges, veth pairs, pods (IP, labels), Services and their endpoints."""
        require_root()
        facts = graph.gather(open_lab(cluster))
        if output is None:
            out.print(graph.to_tree(facts), soft_wrap=False)
            return
        write(facts, output)
        note(f"wrote {output}")
