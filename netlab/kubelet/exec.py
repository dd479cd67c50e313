"""`exec` and `logs`, the kubelet's way: into a pod's namespaces with the same launch spec its
containers and probes get, and out of its containers' log files.

`exec` enters a running container with the spec recorded when it started
(containers._record_exec_spec), so it builds no pydantic model; the pod's model and its
Services' variables are computed only for a container started by an older netlab.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
from typing import TYPE_CHECKING, BinaryIO

from netlab.errors import InvalidInput, NotFound
from netlab.kernel import containerlogs, ns, runtime
from netlab.kubelet.containerstate import exec_spec_path, log_path

if TYPE_CHECKING:
    from netlab.api.models import Pod
    from netlab.api.podspec import Container
    from netlab.apiserver.state import Lab
    from netlab.apiserver.store import StoredObject


def _stored(lab: Lab, namespace: str, name: str) -> StoredObject:
    obj = lab.store.get("Pod", namespace, name)
    if obj is None:
        raise NotFound(f'pods "{name}" not found in namespace "{namespace}"')
    return obj


def find_pod(lab: Lab, namespace: str, name: str) -> tuple[StoredObject, Pod]:
    from netlab.apiserver.state import pod_model

    obj = _stored(lab, namespace, name)
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
    obj = _stored(lab, namespace, name)
    box = obj.status.get("sandbox") or {}
    if box.get("uid") != obj.uid or not ns.is_pinned(ns.netns_path(box["netns"])):
        raise InvalidInput(f"pod {name} has no running sandbox (see: netlab describe pod {name} -n {namespace})")
    spec = _recorded_spec(obj, container) or _computed_spec(lab, obj, container)
    spec = dataclasses.replace(spec, argv=tuple(command), env={**spec.env, "TERM": os.environ.get("TERM", "xterm")})
    if tty:
        return runtime.exec_on_pty(spec)
    if not stdin:
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
    sys.stdout.flush()
    runtime.exec_in_pod(spec)
    return 0  # not reached: exec_in_pod replaces this process


def _recorded_spec(obj: StoredObject, container: str | None) -> runtime.Launch | None:
    """The spec the container was started with; None when there is none to read (the
    container has not started, or an older netlab started it)."""
    names = [c.get("name") for c in (obj.manifest.get("spec") or {}).get("containers") or []]
    chosen = container if container is not None else (names[0] if names else None)
    directory = obj.status.get("dir")
    if chosen not in names or not directory:
        return None  # an unknown container name: the model's path says which ones there are
    try:
        with open(exec_spec_path(directory, chosen)) as f:
            return runtime.Launch.from_wire(json.load(f))
    except (OSError, ValueError, TypeError, KeyError):
        return None


def _computed_spec(lab: Lab, obj: StoredObject, container: str | None) -> runtime.Launch:
    from netlab.apiserver.state import pod_model
    from netlab.kubelet import containers
    from netlab.kubelet.sync import ServiceVariables, pod_context

    pod = pod_model(obj)
    target = container_of(pod, container)
    # as the container started: no variables of Services created since
    record = next((r for r in obj.status.get("containers") or [] if r.get("name") == target.name), {})
    services = ServiceVariables(lab).for_pod(obj.namespace, pod, record.get("startedAt"))
    return containers.launch_spec(pod_context(lab, obj, pod), target, services)


def stream_logs(
    lab: Lab, namespace: str, name: str, container: str | None, sink: BinaryIO, options: containerlogs.Options,
    *, follow: bool = False, previous: bool = False,
) -> None:
    """Copy a container's output (stdout and stderr) to `sink` as the kubelet's log reader does
    (`kuberuntime/logs`): its current instance's CRI log (the previous one's with `previous`),
    partial records joined into lines, `options` applied; with `follow`, new lines until the
    instance ended (its pipes drained: the collector removes them) or the pod went away."""
    obj, pod = find_pod(lab, namespace, name)
    c = container_of(pod, container)
    directory = obj.status.get("dir")
    record = next((r for r in obj.status.get("containers") or [] if r.get("name") == c.name), None)
    if not directory or record is None or "error" in record:
        raise InvalidInput(f'container "{c.name}" in pod "{name}" is waiting to start: no logs yet')
    restart = record.get("restartCount", 0)
    if previous:
        if restart < 1:  # (one that printed nothing has no file: it shows nothing)
            raise InvalidInput(f'previous terminated container "{c.name}" in pod "{name}" not found')
        restart, follow = restart - 1, False
    path = log_path(directory, c.name, restart)
    decoder, limit = containerlogs.Decoder(), containerlogs.Limit(options.limit_bytes)

    def emit(lines: list[containerlogs.Line]) -> None:
        sink.write(b"".join(limit.take(line.render(options.timestamps) for line in lines)))
        sink.flush()

    f = _open_when_there(lab, obj, path, follow)
    if f is None:
        return
    with f:
        if options.since is None and options.tail is not None and options.tail >= 0:
            f.seek(containerlogs.tail_offset(f, options.tail))
        lines = decoder.feed(f.read())
        if not follow:
            emit(containerlogs.select(lines + decoder.finish(), options))
            return
        emit(containerlogs.select(lines, options))
        while not limit.reached:
            chunk = f.read()
            if chunk:
                emit(containerlogs.select(decoder.feed(chunk), dataclasses.replace(options, tail=-1)))
                continue
            if _instance_ended(lab, obj, path):
                emit(decoder.feed(f.read()) + decoder.finish())  # written before its pipes went
                return
            time.sleep(0.2)  # polling a file for new output; nothing to wait on instead


def _open_when_there(lab: Lab, obj: StoredObject, path: str, follow: bool) -> BinaryIO | None:
    """The log, once its first record is written (a container that printed nothing has none
    yet); None when there is nothing to show (and, following, the instance or pod ended)."""
    while True:
        try:
            return open(path, "rb")
        except FileNotFoundError:
            if not follow or _instance_ended(lab, obj, path):
                return None
        time.sleep(0.2)


def _instance_ended(lab: Lab, obj: StoredObject, path: str) -> bool:
    """The pod went away, or this instance's output is all in its log: the collector removes
    the pipes once it read them to the end (every process holding them gone)."""
    from netlab.kernel.logcollector import fifo_path

    current = lab.store.get("Pod", obj.namespace, obj.name)
    return current is None or current.uid != obj.uid or not os.path.exists(fifo_path(path, "stdout"))
