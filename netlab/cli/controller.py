"""`netlab controller status|start|stop|restart|logs|run`: the lab's control plane process."""

from __future__ import annotations

import time

import typer

from netlab.apiserver.state import open_lab
from netlab.cli.common import ClusterOption, out
from netlab.errors import EnvironmentProblem, NetlabError, require_root
from netlab.kernel import procs
from netlab.lab import controlplane


def _status(cluster: str) -> None:
    ref = controlplane.running(cluster)
    if ref is None:
        out(f"control plane of cluster {cluster}: not running (the next netlab command on this lab starts it)")
    else:
        up = time.time() - procs.started_at(ref)
        out(f"control plane of cluster {cluster}: running (pid {ref.pid}, up {up:.0f}s)")
    out(f"log: {controlplane.log_path(cluster)}")


def _start(cluster: str) -> procs.ProcessRef:
    controlplane.ensure_running(cluster)
    ref = controlplane.wait_running(cluster)
    if ref is None:
        raise EnvironmentProblem(
            f"the control plane of cluster {cluster} did not start",
            detail=f"its log says why: {controlplane.log_path(cluster)}",
        )
    return ref


def register(app: typer.Typer) -> None:
    group = typer.Typer(
        help="The lab's control plane: kubelet, kube-proxy and the controllers, always running.",
        invoke_without_command=True,
    )
    app.add_typer(group, name="controller")

    @group.callback()
    def default(ctx: typer.Context, cluster: str = ClusterOption) -> None:
        """The lab's control plane runs by itself from the first apply (or cluster create) until
        `cluster delete` or `reset`: it restarts crashed containers, runs probes, keeps
        endpoints, rules and DNS in step, and replaces pods of failed nodes. Without a
        subcommand: its status."""
        if ctx.invoked_subcommand is None:
            require_root()
            open_lab(cluster).close()  # a clear error when the cluster does not exist
            _status(cluster)

    @group.command("status")
    def status(cluster: str = ClusterOption) -> None:
        """Whether the control plane runs, its pid, and where its log is."""
        require_root()
        open_lab(cluster).close()
        _status(cluster)

    @group.command("start")
    def start(cluster: str = ClusterOption) -> None:
        """Start the control plane if it does not run (any command on the lab does this too)."""
        require_root()
        open_lab(cluster).close()
        ref = _start(cluster)
        out(f"control plane of cluster {cluster} running (pid {ref.pid})")

    @group.command("stop")
    def stop(cluster: str = ClusterOption) -> None:
        """Stop the control plane (the lab freezes until the next netlab command on it starts it again)."""
        require_root()
        stopped = controlplane.stop(cluster)
        out(f"control plane of cluster {cluster} {'stopped' if stopped else 'was not running'}")

    @group.command("restart")
    def restart(cluster: str = ClusterOption) -> None:
        """Stop and start the control plane; the new one adopts the running containers."""
        require_root()
        open_lab(cluster).close()
        controlplane.stop(cluster)
        ref = _start(cluster)
        out(f"control plane of cluster {cluster} restarted (pid {ref.pid})")

    @group.command("logs")
    def logs(
        follow: bool = typer.Option(False, "-f", "--follow", help="Keep printing new lines (Ctrl-C to stop)."),
        tail: int = typer.Option(-1, "--tail", help="Only the last N lines (-1: all)."),
        cluster: str = ClusterOption,
    ) -> None:
        """What the control plane did: events it caused, problems it met."""
        require_root()
        path = controlplane.log_path(cluster)
        try:
            f = open(path)
        except FileNotFoundError:
            raise NetlabError(f"no control plane log for cluster {cluster} ({path})") from None
        with f:
            lines = f.readlines()
            for line in lines if tail < 0 else lines[len(lines) - tail :] if tail else []:
                out(line.rstrip("\n"))
            while follow:
                line = f.readline()
                if line:
                    out(line.rstrip("\n"))
                else:
                    time.sleep(0.2)  # tail -f's own pace

    @group.command("run")
    def run(cluster: str = ClusterOption) -> None:
        """Run the control plane in this terminal (for debugging; stop the background one first)."""
        require_root()
        open_lab(cluster).close()
        from netlab.lab.controller import serve

        serve(cluster, lambda line: out(f"{time.strftime('%H:%M:%S')} {line}"))
