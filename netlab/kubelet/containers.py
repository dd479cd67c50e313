"""Containers — the kubelet's part after the sandbox: start programs in the pod, observe them.

A container's record (kept in the pod's status) names its process (pid + start time), so
`get pods` can tell live from exited without being the process's parent; the exit code is
written by the launch wrapper (`kernel/runtime.py`).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from netlab.images import catalog
from netlab.kernel import procs, runtime
from netlab.images import nginx as nginx_image
from netlab.kubelet import containerstate, podenv, probes, security, volumes
from netlab.kubelet.containerstate import exec_spec_path, observe, ready  # noqa: F401  (re-exported: the readers' part)

INGRESS_NGINX_IMAGE = "ingress-nginx/controller"  # registry.k8s.io/ingress-nginx/controller:v1.x
NGINX_GATEWAY_IMAGE = "nginx/nginx-gateway-fabric"  # ghcr.io/nginx/nginx-gateway-fabric:1.x
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class PodContext:
    """Where a pod lives, for starting its containers and for `netlab exec`."""

    namespace: str
    name: str
    ip: str
    node: str
    hostname: str
    netns_path: str
    utsns_path: str
    directory: str  # the pod's state directory: resolv.conf, hosts, logs, exit codes
    dns_records: str  # the cluster DNS snapshot (read by the coredns image)
    ingress_routes: str = ""  # the ingress routes snapshot (read by the ingress-nginx controller image)
    security: Any = None  # the pod's spec.securityContext (its containers' defaults)
    fields: podenv.PodFields | None = None  # what the Downward API exposes
    logs_index: str = ""  # the lab's index of container log pipes (kernel/logcollector.py)
    volumes: tuple = ()  # spec.volumes
    sources: Any = None  # volumes.Sources: the namespace's ConfigMaps and Secrets, for env and volumes

    @property
    def binds(self) -> tuple[tuple[str, str], ...]:
        return (
            (os.path.join(self.directory, "resolv.conf"), "/etc/resolv.conf"),
            (os.path.join(self.directory, "hosts"), "/etc/hosts"),
            (os.path.join(self.directory, "hostname"), "/etc/hostname"),
        )

    def log_path(self, container: str, restart_count: int) -> str:
        return containerstate.log_path(self.directory, container, restart_count)

    def exit_path(self, container: str) -> str:
        return os.path.join(self.directory, f"{container}.exit")

    def lock_path(self, container: str) -> str:
        return os.path.join(self.directory, f"{container}.lock")

    def exec_spec_path(self, container: str) -> str:
        return exec_spec_path(self.directory, container)

    def mounts(self, container) -> tuple[tuple[str, str, bool], ...]:
        """The container's volumeMounts as (source under the pod's directory, mountPath,
        readOnly), plus what its image brings along (the nginx image's document root)."""
        planned = [(m.source, m.target, m.read_only) for m in volumes.container_mounts(self.directory, list(self.volumes), container)]
        return tuple(planned) + nginx_image.image_mounts(container, self.directory)


def environment(ctx: PodContext, container, services: Mapping[str, str] | None = None) -> dict[str, str]:
    """netlab's own variables, then the container's as the kubelet makes them (for a running
    container: a ConfigMap or Secret deleted since its start leaves its variables out)."""
    try:
        own = container_variables(ctx, container, services)
    except podenv.EnvError:
        own = container_variables(ctx, container, services, lenient=True)
    return {**_base_environment(ctx, container), **own}


def _base_environment(ctx: PodContext, container) -> dict[str, str]:
    return {
        "PATH": DEFAULT_PATH,
        "HOME": security.home(security.resolve(ctx.security, container.securityContext)),
        "HOSTNAME": ctx.hostname,
        "NETLAB_POD_NAME": ctx.name,
        "NETLAB_POD_NAMESPACE": ctx.namespace,
        "NETLAB_POD_IP": ctx.ip,
        "NETLAB_NODE_NAME": ctx.node,
        "PYTHONUNBUFFERED": "1",
    }


def container_variables(
    ctx: PodContext, container, services: Mapping[str, str] | None = None, warnings: list[str] | None = None, lenient: bool = False
) -> dict[str, str]:
    """The variables the kubelet gives a container (podenv.py): its envFrom, its `env` in order
    with fieldRefs, ConfigMap and Secret keys and `$(VAR)` resolved, then the Service variables
    it did not set. Raises podenv.EnvError (CreateContainerConfigError); `warnings` collects
    the kubelet's InvalidEnvironmentVariableNames; `lenient` treats every reference as optional."""
    entries = [_env_entry(var, lenient) for var in container.env]
    refs = [
        podenv.KeyRef("configmap" if src.configMapRef else "secret", (src.configMapRef or src.secretRef).name,
                      optional=lenient or bool((src.configMapRef or src.secretRef).optional), prefix=src.prefix)
        for src in container.envFrom
    ]  # fmt: skip
    fields = ctx.fields or podenv.PodFields(ctx.name, ctx.namespace, "", ctx.node, "default", ctx.ip, "", {}, {})
    lookup = _object_values(ctx)
    initial, skipped = podenv.env_from(refs, lookup, ctx.namespace) if refs else ({}, [])
    if warnings is not None:
        warnings += skipped
    return dict(podenv.container_env(entries, fields, services or {}, initial, lookup))


def _env_entry(var, lenient: bool) -> podenv.EnvEntry:
    source = var.valueFrom
    if source is None:
        return podenv.EnvEntry(var.name, var.value)
    if source.fieldRef is not None:
        return podenv.EnvEntry(var.name, field_path=source.fieldRef.fieldPath)
    ref = source.configMapKeyRef or source.secretKeyRef
    if ref is not None:
        kind = "configmap" if source.configMapKeyRef is not None else "secret"
        return podenv.EnvEntry(var.name, ref=podenv.KeyRef(kind, ref.name, ref.key, lenient or bool(ref.optional)))
    return podenv.EnvEntry(var.name)  # resourceFieldRef: warned at apply, ""


def _object_values(ctx: PodContext) -> podenv.ObjectLookup:
    """(kind, name) -> the values env may use: a ConfigMap's `data` (not binaryData, as
    upstream), a Secret's decoded data; None when the object does not exist."""

    def values(kind: str, name: str) -> dict[str, str] | None:
        if ctx.sources is None:
            return None
        obj = ctx.sources.configmap(name) if kind == "configmap" else ctx.sources.secret(name)
        if obj is None:
            return None
        if kind == "configmap":
            return dict(obj.data)
        return {k: (obj.value(k) or b"").decode(errors="replace") for k in obj.data}

    return values


def image_name(image: str) -> str:
    """The repository's last path element: registry.k8s.io/coredns/coredns:v1.11 -> coredns."""
    ref = image.split("@", 1)[0]
    last = ref.rsplit("/", 1)[-1]
    return last.split(":", 1)[0]


def program(ctx: PodContext, container, env: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """What to run for a container, its command and args `$(VAR)`-expanded from `env`;
    raises catalog.ImageError when nothing can be run."""
    if image_name(container.image) == "coredns":
        # The cluster DNS pod runs netlab's own DNS server, answering from the store snapshot.
        return (sys.executable, "-m", "netlab.dns", "--records", ctx.dns_records)
    if catalog.image_path(container.image) in (INGRESS_NGINX_IMAGE, NGINX_GATEWAY_IMAGE):
        # ingress-nginx's controller (or NGINX Gateway Fabric's) runs a real nginx on the
        # routes the control plane publishes for it.
        routes = ctx.ingress_routes
        if catalog.image_path(container.image) == NGINX_GATEWAY_IMAGE:
            routes = os.path.join(os.path.dirname(routes), "gateway.json")
        return (sys.executable, "-m", "netlab.ingress", "--routes", routes,
                "--dir", os.path.join(ctx.directory, "nginx"))
    if nginx_image.runs_nginx(container):
        # The nginx image with its configuration given as a volume: the host's real nginx on
        # that configuration (images/nginx.py).
        return (sys.executable, "-m", "netlab.images", "nginx", "--dir", nginx_image.container_dir(ctx.directory, container))
    ports = [(p.containerPort, p.protocol) for p in container.ports]
    command = podenv.expand_argv(container.command, env or {})
    args = podenv.expand_argv(container.args, env or {})
    return catalog.resolve(container.image, command, args, ports, sys.executable).argv


def _missing_binary(argv0: str, env: dict[str, str]) -> str | None:
    if "/" in argv0:
        found = os.access(argv0, os.X_OK) and os.path.isfile(argv0)
    else:
        found = shutil.which(argv0, path=env["PATH"]) is not None
    if found:
        return None
    return f'exec: "{argv0}": executable file not found in $PATH'


@dataclass(frozen=True)
class Start:
    """A container about to start: the record so far and how to launch it (None: it cannot
    start, and `record` says why)."""

    ctx: PodContext
    container: Any
    record: dict[str, Any]
    spec: runtime.Launch | None = None
    env: Mapping[str, str] | None = None  # its whole environment, kept for `netlab exec`


def prepare(ctx: PodContext, container, restart_count: int = 0, services: Mapping[str, str] | None = None) -> Start:
    """What starting one container takes (never raises for bad images). `services`: the
    Service variables at this start."""
    # Its output goes to its own log, `<container>/<restartCount>.log` (`logs -p` reads the one before).
    record: dict[str, Any] = {"name": container.name, "image": container.image, "restartCount": restart_count}
    warnings: list[str] = []
    try:
        own = container_variables(ctx, container, services, warnings)
    except podenv.EnvError as exc:
        # The kubelet retries at each sync; so does netlab's (sync.py), e.g. once the
        # ConfigMap exists.
        return Start(ctx, container, {**record, "error": str(exc), "reason": "CreateContainerConfigError", "retry": True})
    if warnings:
        record["warnings"] = warnings  # InvalidEnvironmentVariableNames events, sent by sync.py
    env = {**_base_environment(ctx, container), **own}
    try:
        argv = program(ctx, container, own)
    except catalog.ImageError as exc:
        return Start(ctx, container, {**record, "error": str(exc), "reason": "ErrImageNeverPull"})
    missing = _missing_binary(argv[0], env)
    if missing:
        return Start(ctx, container, {**record, "error": missing, "reason": "RunContainerError"})
    wanted = security.resolve(ctx.security, container.securityContext)
    refused = security.refusal(wanted, ctx.name, container.name)
    if refused:
        return Start(ctx, container, {**record, "error": refused, "reason": "CreateContainerConfigError"})
    nginx_image.prepare(container, ctx.directory)
    volumes.ensure_sub_paths(volumes.container_mounts(ctx.directory, list(ctx.volumes), container))
    setpriv = shutil.which("setpriv", path=env["PATH"]) or "setpriv"
    cwd = container.workingDir if container.workingDir and os.path.isdir(container.workingDir) else "/"
    spec = runtime.Launch(
        argv=security.wrap(argv, wanted, setpriv),
        env=env,
        netns=ctx.netns_path,
        utsns=ctx.utsns_path,
        binds=ctx.binds,
        log_path=ctx.log_path(container.name, restart_count),
        exit_path=ctx.exit_path(container.name),
        cwd=cwd,
        lock_path=ctx.lock_path(container.name),
        read_only_root=wanted.read_only_root,
        log_index=ctx.logs_index,
        mounts=ctx.mounts(container),
    )
    return Start(ctx, container, {**record, "command": list(argv)}, spec, env)


def finish(start: Start, outcome: runtime.LaunchOutcome | None) -> dict[str, Any]:
    """The container's record for the pod's status, once `outcome` says how its launch went
    (None: it was not launched, `start.record` says why)."""
    if start.spec is None or outcome is None:
        return start.record
    if isinstance(outcome, runtime.AlreadyRunning):
        # Started before, but its record was lost (the starter was killed before writing it):
        # adopt the copy that runs rather than start a second one.
        ref, started_at = outcome.ref, procs.started_at(outcome.ref)
    elif isinstance(outcome, OSError):
        raise outcome  # the fork or the files it opens: the machine, not the pod
    else:
        ref, started_at = outcome, time.time()
    _record_exec_spec(start)
    started = {**start.record, "pid": ref.pid, "procStart": ref.start_time, "startedAt": started_at}
    if start.container.readinessProbe is not None:
        started["readiness"] = probes.initial("readiness")
    if start.container.livenessProbe is not None:
        started["liveness"] = probes.initial("liveness")
    return started


def _record_exec_spec(start: Start) -> None:
    """How `netlab exec` enters this container, fixed at its start as Kubernetes fixes a
    container's environment (the runtime keeps the container's config; `runc exec` reuses its
    process spec): exec reads it back without building the pod's model or the Services'
    variables again (kubelet/exec.py)."""
    path = start.ctx.exec_spec_path(start.container.name)
    with open(path + ".tmp", "w") as f:
        f.write(json.dumps(launch_spec(start.ctx, start.container, env=start.env).to_wire()))  # one write: json.dump makes one per token
    os.replace(path + ".tmp", path)


def launch_spec(
    ctx: PodContext, container, services: Mapping[str, str] | None = None, env: Mapping[str, str] | None = None
) -> runtime.Launch:
    """How to enter the pod as this container (for exec probes and `netlab exec`): its
    namespaces, files, environment (`env`, when its start computed it) and user."""
    wanted = security.resolve(ctx.security, container.securityContext)
    return runtime.Launch(
        argv=(),
        env=env if env is not None else environment(ctx, container, services),
        netns=ctx.netns_path,
        utsns=ctx.utsns_path,
        binds=ctx.binds,
        log_path="",
        exit_path="",
        cwd=container.workingDir or "/",
        read_only_root=wanted.read_only_root,
        user=(wanted.uid or 0, wanted.gid or 0, wanted.groups) if wanted.drops_privileges else None,
        mounts=ctx.mounts(container),
    )
