"""`netlab exec` and `netlab logs`: into a pod's namespaces, and its containers' output."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, List, Optional

from netlab.cli.common import UsageProblem, open_alive
from netlab.cli.fast import Params, flag, value
from netlab.errors import require_root
from netlab.naming import CLUSTER_ENV, DEFAULT_CLUSTER

if TYPE_CHECKING:
    import typer

# The parameters of `exec` below as plain data, for cli/fast.py (which parses a plainly written
# `exec` without typer); tests/unit/test_cli_startup.py holds the two equal.
PARAMETERS = Params(
    "netlab.cli.exec:exec_command",
    arguments=("pod", "*command"),
    options=(
        value("container", "-c", "--container"),
        flag("stdin", "-i", "--stdin"),
        flag("tty", "-t", "--tty"),
        value("namespace", "-n", "--namespace", default="default"),
        value("cluster", "--cluster", default=DEFAULT_CLUSTER, envvar=CLUSTER_ENV),
    ),
    interspersed=False,
)


def register(app: typer.Typer) -> None:
    import typer

    from netlab.cli.common import ClusterOption, NamespaceOption

    @app.command(
        "exec",
        context_settings={"allow_interspersed_args": False},
    )
    def exec_(
        pod: str = typer.Argument(..., help="Pod name."),
        command: List[str] = typer.Argument(..., help="The command to run, after --."),
        container: Optional[str] = typer.Option(None, "-c", "--container", help="Container (default: the first)."),
        stdin: bool = typer.Option(False, "-i", "--stdin", help="Pass stdin to the command."),
        tty: bool = typer.Option(False, "-t", "--tty", help="Give the command a pseudo-terminal of its own (with a terminal on stdin)."),
        namespace: str = NamespaceOption,
        cluster: str = ClusterOption,
    ) -> None:
        """Run a command inside a pod: its network namespace, hostname, resolv.conf and /etc/hosts.

        Host binaries are used (curl, dig, nc, ip, …). stdout, stderr and the exit code pass through.
        Example: netlab exec pod-b -- curl -s pod-service
        """
        try:
            code = exec_command(pod, command, container, stdin, tty, namespace, cluster)
        except UsageProblem as exc:
            raise typer.BadParameter(str(exc)) from None
        raise typer.Exit(code)

    @app.command("logs")
    def logs(
        pod: Optional[str] = typer.Argument(None, help="Pod name (or pod/NAME); none with -l."),
        container: Optional[str] = typer.Option(None, "-c", "--container", help="Container (default: the first)."),
        follow: bool = typer.Option(False, "-f", "--follow", help="Keep printing new output until interrupted."),
        tail: Optional[int] = typer.Option(None, "--tail", help="Only the last N lines (-1: all; 10 by default with -l)."),
        timestamps: bool = typer.Option(False, "--timestamps", help="Start each line with the time it was written (RFC3339Nano)."),
        since: Optional[str] = typer.Option(None, "--since", help="Only lines newer than a relative duration like 5s, 2m or 3h."),
        since_time: Optional[str] = typer.Option(None, "--since-time", help="Only lines written at or after this RFC3339 time."),
        limit_bytes: Optional[int] = typer.Option(None, "--limit-bytes", help="Stop after this many bytes of output."),
        previous: bool = typer.Option(False, "-p", "--previous", help="The previous instance of the container (after a restart)."),
        selector: Optional[str] = typer.Option(None, "-l", "--selector", help="The logs of every pod whose labels match."),
        prefix: bool = typer.Option(False, "--prefix", help="Start each line with [pod/NAME/CONTAINER]."),
        all_containers: bool = typer.Option(False, "--all-containers", help="Every container of the pod(s)."),
        namespace: str = NamespaceOption,
        cluster: str = ClusterOption,
    ) -> None:
        """Print a container's output (stdout and stderr).

        Read from the container's CRI log file, one per instance (`-p`: the one before the last restart).
        Example: netlab logs web --since=5m --timestamps
        """
        from netlab.cli import logs as multi

        require_root()
        try:
            options = multi.options(timestamps, since, since_time, tail, limit_bytes)
        except UsageProblem as exc:
            raise typer.BadParameter(str(exc)) from None
        if pod is not None and pod.startswith("pod/"):
            pod = pod[4:]
        if (pod is None) == (selector is None):
            raise typer.BadParameter("give a pod name, or -l SELECTOR (not both)")
        multi.show(open_alive(cluster), namespace, pod, selector, container, all_containers, prefix, previous, follow, options)


def exec_command(pod: str, command: list[str], container: str | None, stdin: bool, tty: bool, namespace: str, cluster: str) -> int:
    """What `netlab exec` does, after either parser: the command's exit code (when it is not
    run in place of this process)."""
    # The kubelet's exec loads the pod model: to run the command, not for `exec --help`.
    from netlab.kubelet import exec as kubelet

    require_root()
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        raise UsageProblem("give the command to run after --, e.g. netlab exec pod-b -- curl -s pod-service")
    lab = open_alive(cluster)
    if tty and not sys.stdin.isatty():
        sys.stderr.write("Unable to use a TTY - input is not a terminal or the right kind of file\n")
        tty = False
    try:
        return kubelet.exec_in_pod(lab, namespace, pod, container, command, stdin, tty=tty)
    except FileNotFoundError:
        sys.stderr.write(f'error: exec: "{command[0]}": executable file not found in $PATH\n')
        return 127
