"""The endpoints controller (pure): which pod IP:port pairs back each Service port.

As in Kubernetes, a Service selects pods of its own namespace by label; a numeric targetPort
is used as is, a named one is looked up per pod among its containers' ports (same protocol),
so two pods may serve the same Service on different port numbers. Pods without an IP are left
out; pods that are not ready are kept but marked, so kube-proxy and DNS can skip them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence


@dataclass(frozen=True)
class PodView:
    """What the controllers need to know about a pod."""

    namespace: str
    name: str
    labels: Mapping[str, str]
    ip: str | None
    node: str | None
    ready: bool
    hostname: str
    subdomain: str | None
    ports: tuple[tuple[str | None, int, str], ...]  # (name, containerPort, protocol)

    def __hash__(self) -> int:
        return hash((self.namespace, self.name))


@dataclass(frozen=True)
class Backend:
    ip: str
    port: int
    node: str
    pod: str  # "ns/name"
    ready: bool
    hostname: str | None  # set when the pod's subdomain is this Service (headless DNS)


@dataclass(frozen=True)
class PortEndpoints:
    name: str  # "" when unnamed
    protocol: str
    port: int  # the Service port
    backends: tuple[Backend, ...]


def selects(selector: Mapping[str, str] | None, labels: Mapping[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def resolve_target_port(target: int | str, protocol: str, pod: PodView) -> int | None:
    if isinstance(target, int):
        return target
    for name, number, proto in pod.ports:
        if name == target and proto == protocol:
            return number
    return None


def endpoints_for(
    namespace: str,
    service_name: str,
    selector: Mapping[str, str] | None,
    ports: Sequence[tuple[str, str, int, int | str]],  # (name, protocol, port, targetPort)
    pods: Sequence[PodView],
) -> tuple[PortEndpoints, ...]:
    chosen = sorted(
        (p for p in pods if p.namespace == namespace and p.ip and p.node and selects(selector, p.labels)),
        key=lambda p: tuple(int(o) for o in p.ip.split(".")),  # type: ignore[union-attr]
    )
    result = []
    for name, protocol, port, target in ports:
        backends = []
        for pod in chosen:
            number = resolve_target_port(target, protocol, pod)
            if number is None:
                continue
            backends.append(
                Backend(
                    ip=pod.ip,  # type: ignore[arg-type]
                    port=number,
                    node=pod.node,  # type: ignore[arg-type]
                    pod=f"{pod.namespace}/{pod.name}",
                    ready=pod.ready,
                    hostname=pod.hostname if pod.subdomain == service_name else None,
                )
            )
        result.append(PortEndpoints(name, protocol, port, tuple(backends)))
    return tuple(result)
