"""`netlab controller`: run the reconcile loop continuously (self-healing)."""

from __future__ import annotations

import time

import typer

from netlab import naming
from netlab.apiserver.state import open_lab
from netlab.cli.common import ClusterOption, note, out
from netlab.lab import controller
from netlab.lab.lifecycle import require_root


def register(app: typer.Typer) -> None:
    @app.command("controller")
    def run(
        daemon: bool = typer.Option(False, "--daemon", "-d", help="Run in the background (pid file, log in the state directory)."),
        stop: bool = typer.Option(False, "--stop", help="Stop the background controller of this cluster."),
        interval: float = typer.Option(1.0, "--interval", min=0.1, help="Seconds between reconciles."),
        cluster: str = ClusterOption,
    ) -> None:
        """Reconcile continuously: restart containers, replace pods of failed nodes, follow readiness.

        `apply`, `delete` and `node` commands reconcile once by themselves; run the controller
        when the lab should heal on its own (seed 001's fire, crashing containers, probes).
        """
        require_root()
        if stop:
            stopped = controller.stop(cluster)
            out.print(f"controller for {cluster} {'stopped' if stopped else 'was not running'}", markup=False)
            return
        open_lab(cluster).close()  # a clear error when the cluster does not exist
        if daemon:
            pid = controller.daemonize(cluster, interval)
            out.print(f"controller for {cluster} started in the background (pid {pid})", markup=False)
            note(f"  its log: {naming.cluster_dir(cluster)}/controller.log")
            return
        controller.loop(cluster, interval, lambda line: out.print(time.strftime("%H:%M:%S"), line, markup=False))
