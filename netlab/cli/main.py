"""The `netlab` command: wires command groups to the library, with one error boundary.

Exit codes: 0 success, 1 partial failure (valid request, not all of it carried out),
2 usage error, 3 invalid input (nothing applied), 4 environment problem (not root, missing
tool, range clash with the host).
"""

from __future__ import annotations

import sys

import typer

from netlab import __version__
from netlab.cli import apply as apply_cmd
from netlab.cli import capture as capture_cmd
from netlab.cli import cluster as cluster_cmd
from netlab.cli import controller as controller_cmd
from netlab.cli import doctor as doctor_cmd
from netlab.cli import events as events_cmd
from netlab.cli import exec as exec_cmd
from netlab.cli import get as get_cmd
from netlab.cli import graph as graph_cmd
from netlab.cli import node as node_cmd
from netlab.cli import policy as policy_cmd
from netlab.cli import trace as trace_cmd
from netlab.cli.common import err
from netlab.errors import NetlabError

app = typer.Typer(
    name="netlab",
    help="A real Kubernetes-style pod network on this Linux host, from ordinary Kubernetes YAML.",
    no_args_is_help=True,
    add_completion=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        print(f"netlab {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
    verbose: bool = typer.Option(False, "-v", "--verbose", help="Show stack traces on errors."),
) -> None:
    """Build pods, Services and cluster DNS from Kubernetes YAML with real namespaces, veths and iptables."""
    # -v is read by main() below, which owns the error boundary.


apply_cmd.register(app)
get_cmd.register(app)
exec_cmd.register(app)
node_cmd.register(app)
controller_cmd.register(app)
cluster_cmd.register(app)
policy_cmd.register(app)
events_cmd.register(app)
trace_cmd.register(app)
capture_cmd.register(app)
graph_cmd.register(app)
doctor_cmd.register(app)


def main() -> None:
    verbose = any(a in ("-v", "--verbose") for a in sys.argv[1:])
    try:
        app()  # typer/click handle usage errors themselves (exit code 2)
    except NetlabError as exc:
        if verbose:
            raise
        for line in exc.message.splitlines():
            err.print(f"error: {line}", markup=False)
        if exc.detail:
            err.print(f"  {exc.detail}", markup=False)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted: run the same command again (or netlab reset) to finish or clean up", markup=False)
        sys.exit(130)


if __name__ == "__main__":
    main()
