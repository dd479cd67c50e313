"""Which pod and port `port-forward TARGET PORT` reaches, as kubectl chooses them: a pod as
named; for a Service, Deployment, ReplicaSet or StatefulSet a running pod it selects (a
Service port is mapped to its targetPort, a named port looked up on the pod)."""

from __future__ import annotations

from netlab.api.kinds import lookup
from netlab.api.labels import parse_label_selector
from netlab.apiserver.state import Lab, pod_model
from netlab.errors import InvalidInput, NotFound


def choose_pod(lab: Lab, target: str, namespace: str, remotes: list[str]) -> tuple[str, str, list[int]]:
    """(pod name, its netns name, the pod ports to dial)."""
    kind_text, _, name = target.partition("/")
    if not name:
        kind_text, name = "pod", target
    info = lookup(kind_text)
    if info is None or info.kind not in ("Pod", "Service", "Deployment", "ReplicaSet", "StatefulSet"):
        raise InvalidInput(f"cannot port-forward to {target}: use POD, svc/NAME, deploy/NAME, rs/NAME or sts/NAME")
    o = lab.store.get(info.kind, namespace, name)
    if o is None:
        raise NotFound(f'{info.qualified_plural} "{name}" not found')
    service_ports = None
    if info.kind == "Pod":
        candidates = [o]
    else:
        spec = o.manifest.get("spec") or {}
        if info.kind == "Service":
            selector = spec.get("selector") or {}
            if not selector:
                raise InvalidInput(f"cannot attach to service/{name}: it has no selector")
            service_ports = spec.get("ports") or []
            matches = lambda labels: all(labels.get(k) == v for k, v in selector.items())  # noqa: E731
        else:
            sel = parse_label_selector(",".join(f"{k}={v}" for k, v in (spec.get("selector") or {}).get("matchLabels", {}).items()))
            matches = sel.matches
        candidates = [p for p in lab.store.list("Pod", namespace) if matches((p.manifest.get("metadata") or {}).get("labels") or {})]
    running = [p for p in candidates if p.status.get("podIP") and (p.status.get("sandbox") or {}).get("uid") == p.uid]
    if not running:
        raise InvalidInput(f"unable to forward port because pod is not running (no running pod for {target})")
    pod = sorted(running, key=lambda p: p.name)[0]
    model = pod_model(pod)
    ports = []
    for remote in remotes:
        if service_ports is not None:
            ports.append(_service_target(service_ports, remote, model, name))
        elif remote.isdigit():
            ports.append(int(remote))
        else:
            found = model.find_port(remote)
            if found is None:
                raise InvalidInput(f"Pod '{pod.name}' does not have a named port '{remote}'")
            ports.append(found)
    return pod.name, pod.status["sandbox"]["netns"], ports


def _service_target(service_ports: list[dict], remote: str, model, service: str) -> int:
    """kubectl's translateServicePortToTargetPort."""
    for p in service_ports:
        if str(p["port"]) == remote or p.get("name") == remote:
            target = p.get("targetPort", p["port"])
            if isinstance(target, int):
                return target
            found = model.find_port(target, p.get("protocol", "TCP"))
            if found is None:
                raise InvalidInput(f"Pod '{model.metadata.name}' does not have a named port '{target}'")
            return found
    raise InvalidInput(f"Service {service} does not have a service port {remote}")
