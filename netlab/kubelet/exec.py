"""`exec` and `logs`, the kubelet's way: into a pod's namespaces with the same launch spec its
containers and probes get, and out of its containers' log files."""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from typing import BinaryIO

from netlab.api.models import Container, Pod
from netlab.apiserver.state import Lab, pod_model
from netlab.apiserver.store import StoredObject
from netlab.errors import InvalidInput, NotFound
from netlab.kernel import procs
from netlab.kubelet import containers, sandbox
from netlab.kubelet.sync import ServiceVariables, pod_context


def find_pod(lab: Lab, namespace: str, name: str) -> tuple[StoredObject, Pod]:
    obj = lab.store.get("Pod", namespace, name)
    if obj is None:
        raise NotFound(f'pods "{name}" not found in namespace "{namespace}"')
    return obj, pod_model(obj)


def container_of(pod: Pod, name: str | None) -> Container:
    """The named container, or the first one."""
    if name is None:
        return pod.spec.containers[0]
    for c in pod.spec.containers:
        if c.name == name:
            return c
    names = ", ".join(c.name for c in pod.spec.containers)
    raise InvalidInput(f'container "{name}" is not valid for pod {pod.metadata.name}: choose one of [{names}]')


def exec_in_pod(lab: Lab, namespace: str, name: str, container: str | None, command: list[str], stdin: bool, tty: bool = False) -> int:
    """Replace this process with `command` inside the pod: its network and UTS namespaces,
    resolv.conf and /etc/hosts. Raises FileNotFoundError when the command does not exist.
    With `tty` (and a terminal on stdin) the command gets a pseudo-terminal of its own and
    this returns its exit code instead."""
    obj, pod = find_pod(lab, namespace, name)
    box = obj.status.get("sandbox") or {}
    if box.get("uid") != obj.uid or not sandbox.exists(box["netns"]):
        raise InvalidInput(f"pod {name} has no running sandbox (see: netlab describe pod {name} -n {namespace})")
    target = container_of(pod, container)
    # the environment the container was started with: no variables of Services created since
    record = next((r for r in obj.status.get("containers") or [] if r.get("name") == target.name), {})
    services = ServiceVariables(lab).for_pod(namespace, pod, record.get("startedAt"))
    spec = containers.launch_spec(pod_context(lab, obj, pod), target, services)
    spec = dataclasses.replace(spec, argv=tuple(command), env={**spec.env, "TERM": os.environ.get("TERM", "xterm")})
    if tty:
        return procs.exec_on_pty(spec)
    if not stdin:
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
    sys.stdout.flush()
    procs.exec_in_pod(spec)
    return 0  # not reached: exec_in_pod replaces this process


def stream_logs(
    lab: Lab, namespace: str, name: str, container: str | None, tail: int, follow: bool, sink: BinaryIO, previous: bool = False
) -> None:
    """Copy a container's output (stdout and stderr) to `sink`: the current instance's (the
    previous one's with `previous`), its last `tail` lines (-1: all), then, with `follow`, new
    output until the pod or its log goes away."""
    obj, pod = find_pod(lab, namespace, name)
    c = container_of(pod, container)
    directory = obj.status.get("dir")
    path = os.path.join(directory, f"{c.name}.log") if directory else None
    if path is None or not os.path.exists(path):
        raise InvalidInput(f'container "{c.name}" in pod "{name}" is waiting to start: no logs yet')
    record = next((r for r in obj.status.get("containers") or [] if r.get("name") == c.name), {})
    start = record.get("logOffset", 0)
    end = None
    if previous:
        if "previousLogOffset" not in record:
            raise InvalidInput(f'previous terminated container "{c.name}" in pod "{name}" not found')
        start, end, follow = record["previousLogOffset"], start, False
    with open(path, "rb") as f:
        f.seek(start)
        data = f.read() if end is None else f.read(max(end - start, 0))
        if tail >= 0:
            data = b"".join(data.splitlines(keepends=True)[-tail:]) if tail else b""
        sink.write(data)
        sink.flush()
        while follow:
            chunk = f.read()
            if chunk:
                sink.write(chunk)
                sink.flush()
                continue
            if lab.store.get("Pod", namespace, name) is None or not os.path.exists(path):
                return
            time.sleep(0.2)  # polling a file for new output; nothing to wait on instead
