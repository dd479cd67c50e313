"""`netlab exec` and `netlab logs`: into a pod's namespaces, and its containers' output."""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from typing import List, Optional

import typer

from netlab.cli.common import ClusterOption, NamespaceOption
from netlab.lab.lifecycle import require_root
from netlab.errors import InvalidInput, NotFound
from netlab.kernel import procs
from netlab.apiserver.state import open_lab
from netlab.kubelet import containers, sandbox
from netlab.lab.reconcile import pod_context, pod_model


def _find(cluster: str, namespace: str, name: str):
    lab = open_lab(cluster)
    obj = lab.store.get("Pod", namespace, name)
    if obj is None:
        raise NotFound(f'pods "{name}" not found in namespace "{namespace}"')
    return lab, obj, pod_model(obj)


def _container(pod, name: str | None):
    if name is None:
        return pod.spec.containers[0]
    for c in pod.spec.containers:
        if c.name == name:
            return c
    names = ", ".join(c.name for c in pod.spec.containers)
    raise InvalidInput(f'container "{name}" is not valid for pod {pod.metadata.name}: choose one of [{names}]')


def register(app: typer.Typer) -> None:
    @app.command(
        "exec",
        context_settings={"allow_interspersed_args": False},
    )
    def exec_(
        pod: str = typer.Argument(..., help="Pod name."),
        command: List[str] = typer.Argument(..., help="The command to run, after --."),
        container: Optional[str] = typer.Option(None, "-c", "--container", help="Container (default: the first)."),
        stdin: bool = typer.Option(False, "-i", "--stdin", help="Pass stdin to the command."),
        tty: bool = typer.Option(False, "-t", "--tty", help="Accepted for kubectl compatibility; the terminal passes through."),
        namespace: str = NamespaceOption,
        cluster: str = ClusterOption,
    ) -> None:
        """Run a command inside a pod: its network namespace, hostname, resolv.conf and /etc/hosts.

        Host binaries are used (curl, dig, nc, ip, …). stdout, stderr and the exit code pass through.
        Example: netlab exec pod-b -- curl -s pod-service
        """
        require_root()
        if command and command[0] == "--":
            command = command[1:]
        if not command:
            raise typer.BadParameter("give the command to run after --, e.g. netlab exec pod-b -- curl -s pod-service")
        lab, obj, model = _find(cluster, namespace, pod)
        box = obj.status.get("sandbox") or {}
        if box.get("uid") != obj.uid or not sandbox.exists(box["netns"]):
            raise InvalidInput(f"pod {pod} has no running sandbox (see: netlab describe pod {pod} -n {namespace})")
        c = _container(model, container)
        spec = containers.launch_spec(pod_context(lab, obj, model), c)
        spec = dataclasses.replace(
            spec, argv=tuple(command), env={**spec.env, "TERM": os.environ.get("TERM", "xterm")}
        )
        if not stdin:
            devnull = os.open(os.devnull, os.O_RDONLY)
            os.dup2(devnull, 0)
            os.close(devnull)
        sys.stdout.flush()
        try:
            procs.exec_in_pod(spec)
        except FileNotFoundError:
            sys.stderr.write(f'error: exec: "{command[0]}": executable file not found in $PATH\n')
            raise typer.Exit(127)

    @app.command("logs")
    def logs(
        pod: str = typer.Argument(..., help="Pod name."),
        container: Optional[str] = typer.Option(None, "-c", "--container", help="Container (default: the first)."),
        follow: bool = typer.Option(False, "-f", "--follow", help="Keep printing new output until interrupted."),
        tail: int = typer.Option(-1, "--tail", help="Only the last N lines (-1: all)."),
        namespace: str = NamespaceOption,
        cluster: str = ClusterOption,
    ) -> None:
        """Print a container's output (stdout and stderr)."""
        require_root()
        lab, obj, model = _find(cluster, namespace, pod)
        c = _container(model, container)
        directory = obj.status.get("dir")
        path = os.path.join(directory, f"{c.name}.log") if directory else None
        if path is None or not os.path.exists(path):
            raise InvalidInput(f'container "{c.name}" in pod "{pod}" is waiting to start: no logs yet')
        with open(path, "rb") as f:
            data = f.read()
            if tail >= 0:
                data = b"".join(data.splitlines(keepends=True)[-tail:]) if tail else b""
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
            while follow:
                chunk = f.read()
                if chunk:
                    sys.stdout.buffer.write(chunk)
                    sys.stdout.flush()
                    continue
                if lab.store.get("Pod", namespace, pod) is None or not os.path.exists(path):
                    return
                time.sleep(0.2)  # polling a file for new output; nothing to wait on instead
