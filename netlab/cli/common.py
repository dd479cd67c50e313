"""What the command modules share: consoles, the cluster option, output formats, tables."""

from __future__ import annotations

import json
import os
import sys
from enum import Enum
from typing import Any, Sequence

import typer
import yaml
from rich.console import Console

from netlab.apiserver.state import CLUSTER_ENV, DEFAULT_CLUSTER

# Data goes to stdout, progress and diagnostics to stderr; rich drops colour when not a TTY.
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

ClusterOption = typer.Option(
    DEFAULT_CLUSTER, "--cluster", envvar=CLUSTER_ENV, help="Which lab (cluster) to act on.", show_default=True
)
NamespaceOption = typer.Option("default", "-n", "--namespace", help="Namespace of the objects.")


class Output(str, Enum):
    table = "table"
    wide = "wide"
    json = "json"
    yaml = "yaml"
    name = "name"


class Protocol(str, Enum):
    """--protocol of the commands that send or explain one connection (trace, policy)."""

    tcp = "tcp"
    udp = "udp"


OutputOption = typer.Option(Output.table, "-o", "--output", help="table (default), wide, json, yaml or name.")


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """kubectl's plain aligned columns (tabwriter, padding 3), not a boxed table."""
    if not rows:
        return
    cells = [list(map(str, headers))] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for r in cells:
        line = "   ".join(c.ljust(widths[i]) for i, c in enumerate(r)).rstrip()
        out.print(line, markup=False)


def print_document(data: Any, fmt: Output) -> None:
    if fmt == Output.json:
        sys.stdout.write(json.dumps(data, indent=4) + "\n")
    else:
        sys.stdout.write(yaml.safe_dump(data, sort_keys=False, default_flow_style=False))
    sys.stdout.flush()


def note(message: str) -> None:
    err.print(message, markup=False)


def interactive() -> bool:
    return sys.stderr.isatty() and os.environ.get("CI") is None
