"""The endpoints controller: which pod IP:port pairs back each Service port.

As in Kubernetes, a Service selects pods of its own namespace by label; a numeric targetPort
is used as is, a named one is looked up per pod among its containers' ports (same protocol),
so two pods may serve the same Service on different port numbers. Pods without an IP are left
out; pods that are not ready are kept but marked, so kube-proxy and DNS can skip them.
`endpoints_for` is pure over pod views; `service_endpoints` reads them and the Services from
the store, for the reconcile's publish step and the read side alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

from netlab.api.labels import selects
from netlab.api.models import Pod, Service
from netlab.apiserver.endpoint import SECURE_PORT, address, is_kubernetes_service
from netlab.apiserver.state import Lab, pod_model, service_model
from netlab.apiserver.store import StoredObject
from netlab.kubelet.podfiles import pod_hostname
from netlab.kubelet.status import pod_ready


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


def pod_views(lab: Lab) -> list[PodView]:
    """Every stored pod, as the endpoints, kube-proxy, DNS and policy steps look at it."""
    return [pod_view(o, pod_model(o)) for o in lab.store.list("Pod")]


def pod_view(obj: StoredObject, pod: Pod) -> PodView:
    status = obj.status
    return PodView(
        namespace=obj.namespace,
        name=obj.name,
        labels=dict(pod.metadata.labels or {}),
        ip=status.get("podIP"),
        node=status.get("nodeName"),
        ready=pod_ready(status),  # a pod without an IP has no containers yet: not ready
        hostname=pod_hostname(pod),
        subdomain=pod.spec.subdomain,
        ports=tuple(
            (p.name, p.containerPort, p.protocol) for c in pod.spec.containers for p in c.ports
        ),
    )


def service_ports(svc: Service) -> list[tuple[str, str, int, int | str]]:
    return [
        (p.name or "", p.protocol, p.port, p.targetPort if p.targetPort is not None else p.port)
        for p in svc.spec.ports
    ]


def apiserver_endpoints(lab: Lab, ports: Sequence[tuple[str, str, int, int | str]]) -> tuple[PortEndpoints, ...]:
    """`default/kubernetes` points at the control plane's endpoint, not at pods: the apiserver's
    endpoint reconciler writes its own address and secure port (no node, no pod)."""
    backend = Backend(ip=str(address(lab.topo.underlay)), port=SECURE_PORT, node="", pod="", ready=True, hostname=None)
    return tuple(PortEndpoints(name, protocol, port, (backend,)) for name, protocol, port, _ in ports)


@dataclass(frozen=True)
class ServiceEndpoints:
    obj: StoredObject
    service: Service
    cluster_ip: str | None
    ports: tuple[PortEndpoints, ...]


def cluster_ip_of(obj: StoredObject, svc: Service) -> str | None:
    if svc.spec.clusterIP == "None" or svc.spec.type == "ExternalName":
        return None
    return obj.status.get("clusterIP") or svc.spec.clusterIP


def service_endpoints(lab: Lab, views: list[PodView] | None = None) -> list[ServiceEndpoints]:
    """Every Service with its endpoints, from `views` of the pods (read from the store when None)."""
    if views is None:
        views = pod_views(lab)
    result = []
    for o in lab.store.list("Service"):
        svc = service_model(o)
        if is_kubernetes_service(o.namespace, o.name) and not svc.spec.selector:
            ports = apiserver_endpoints(lab, service_ports(svc))
        else:
            ports = endpoints_for(o.namespace, o.name, svc.spec.selector, service_ports(svc), views)
        result.append(ServiceEndpoints(o, svc, cluster_ip_of(o, svc), ports))
    return result
