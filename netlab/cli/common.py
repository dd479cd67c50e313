"""What the command modules share: the cluster option, output formats, lines, tables, and the
partial-failure exit.

Every command imports this module, so it stays light: data lines and tables are plain writes,
rich is loaded by the commands that draw (`console()`), yaml by `-o yaml`, and typer by the
first command module that names one of its options (`ClusterOption`, …): `get` and `exec`
parsed by `fast.py` never load it.
"""

from __future__ import annotations

import json
import os
import sys
from enum import Enum
from functools import cache
from typing import TYPE_CHECKING, Any, Sequence

from netlab.errors import NetlabError
from netlab.naming import CLUSTER_ENV, DEFAULT_CLUSTER

if TYPE_CHECKING:
    from rich.console import Console

    from netlab.apiserver.state import Lab

CLUSTER_HELP = "Which lab (cluster) to act on."
NAMESPACE_HELP = "Namespace of the objects."


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


OUTPUT_HELP = "table (default), wide, json, yaml or name."


def __getattr__(name: str) -> Any:
    """ClusterOption, NamespaceOption and OutputOption: typer's option objects the command
    modules declare their parameters with, built (importing typer) on first use, once."""
    if name not in ("ClusterOption", "NamespaceOption", "OutputOption"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import typer

    options = {
        "ClusterOption": lambda: typer.Option(DEFAULT_CLUSTER, "--cluster", envvar=CLUSTER_ENV, help=CLUSTER_HELP, show_default=True),
        "NamespaceOption": lambda: typer.Option("default", "-n", "--namespace", help=NAMESPACE_HELP),
        "OutputOption": lambda: typer.Option(Output.table, "-o", "--output", help=OUTPUT_HELP),
    }
    value = globals()[name] = options[name]()
    return value


def out(line: str) -> None:
    """One line of data, on stdout, flushed: `get -w` and `events -w` lines must not wait in a pipe."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def note(message: str) -> None:
    """Progress and diagnostics, on stderr (data stays on stdout)."""
    sys.stderr.write(message + "\n")


@cache
def console() -> Console:
    """rich, for what is drawn (doctor's table, graph's and trace's trees); no colour when not a TTY."""
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """kubectl's plain aligned columns (tabwriter, padding 3), not a boxed table."""
    if not rows:
        return
    cells = [list(map(str, headers))] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    sys.stdout.writelines("   ".join(c.ljust(widths[i]) for i, c in enumerate(r)).rstrip() + "\n" for r in cells)
    sys.stdout.flush()


def print_document(data: Any, fmt: Output) -> None:
    if fmt == Output.json:
        sys.stdout.write(json.dumps(data, indent=4) + "\n")
    else:
        import yaml

        # kubectl converts the JSON object to YAML (sigs.k8s.io/yaml): keys sorted at every level.
        sys.stdout.write(yaml.safe_dump(data, sort_keys=True, default_flow_style=False))
    sys.stdout.flush()


class UsageProblem(Exception):
    """A usage error found by a command's own checks (exit code 2): the typer command turns it
    into typer's BadParameter; cli/fast.py hands the command line to typer, which does so."""


class PartialFailure(NetlabError):
    """The request was valid but some of it could not be carried out (exit code 1)."""


def report(problems: Sequence[str]) -> None:
    """Exit 1 with what a command could not carry out (a reconcile's problems)."""
    if problems:
        raise PartialFailure(
            "\n".join(problems),
            detail="the objects are stored; run the command again (or `netlab reset`) to retry or clean up",
        )


def open_alive(cluster: str) -> "Lab":
    """The lab a command reads, its control plane started again if it died (a `kill -9`, a
    reboot): any netlab command brings a lab back to life, not only the writing ones."""
    from netlab.apiserver.state import open_lab
    from netlab.lab import controlplane

    lab = open_lab(cluster)
    controlplane.ensure_running(cluster)
    return lab


def interactive() -> bool:
    return sys.stderr.isatty() and os.environ.get("CI") is None
