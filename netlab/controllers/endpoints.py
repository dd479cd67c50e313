"""The endpoints controller: which pod IP:port pairs back each Service port.

As in Kubernetes, a Service selects pods of its own namespace by label; a numeric targetPort
is used as is, a named one is looked up per pod among its containers' ports (same protocol),
so two pods may serve the same Service on different port numbers. Pods without an IP are left
out; pods that are not ready are kept but marked, so kube-proxy and DNS can skip them.
`endpoints_for` is pure over pod views; `service_endpoints` reads them and the Services from
the store, for the reconcile's publish step and the read side alike.

In a dual-stack lab endpoints exist per family, as EndpointSlices do (one address type each):
a Service has endpoints in the families of its `ipFamilies`, each backend carrying the pod's
address of that family. `service_endpoints` returns the Services seen in their primary
family; `ServiceEndpoints.for_family(f)` gives the same Service seen in family f.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from netlab.api.families import family_of
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
    ip: str | None  # the primary family's
    node: str | None
    ready: bool
    hostname: str
    subdomain: str | None
    ports: tuple[tuple[str | None, int, str], ...]  # (name, containerPort, protocol)
    ips: tuple[str, ...] = ()  # one per family, primary first

    def __hash__(self) -> int:
        return hash((self.namespace, self.name))

    def ip_of(self, family: int) -> str | None:
        return next((ip for ip in self.ips or ((self.ip,) if self.ip else ()) if family_of(ip) == family), None)


def _sort_key(ip: str) -> tuple[int, int]:
    from ipaddress import ip_address

    address = ip_address(ip)
    return address.version, int(address)


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
    family: int | None = None,
) -> tuple[PortEndpoints, ...]:
    """`family`: the address family of the endpoints (None: each pod's primary address)."""

    def address(p: PodView) -> str | None:
        return p.ip if family is None else p.ip_of(family)

    chosen = sorted(
        (p for p in pods if p.namespace == namespace and address(p) and p.node and selects(selector, p.labels)),
        key=lambda p: _sort_key(address(p)),  # type: ignore[arg-type]
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
                    ip=address(pod),  # type: ignore[arg-type]
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
        ips=tuple(status.get("podIPs") or ([status["podIP"]] if status.get("podIP") else [])),
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


def apiserver_endpoints(lab: Lab, ports: Sequence[tuple[str, str, int, int | str]], family: int) -> tuple[PortEndpoints, ...]:
    """`default/kubernetes` points at the control plane's endpoint, not at pods: the apiserver's
    endpoint reconciler writes its own address and secure port (no node, no pod) — on the
    primary underlay, so of the Service's family."""
    underlay = lab.topo.underlay_for(family)
    backends = (Backend(ip=str(address(underlay)), port=SECURE_PORT, node="", pod="", ready=True, hostname=None),) if underlay else ()
    return tuple(PortEndpoints(name, protocol, port, backends) for name, protocol, port, _ in ports)


@dataclass(frozen=True)
class ServiceEndpoints:
    obj: StoredObject
    service: Service
    cluster_ip: str | None
    ports: tuple[PortEndpoints, ...]
    family: int = 4  # the family this view is of
    # The other families' views: family -> (cluster IP, ports); empty in a single-stack lab.
    others: Mapping[int, tuple[str | None, tuple[PortEndpoints, ...]]] = field(default_factory=dict, hash=False)

    @property
    def families(self) -> tuple[int, ...]:
        return (self.family, *self.others)

    def for_family(self, family: int) -> ServiceEndpoints | None:
        """The Service seen in `family` (its cluster IP and endpoints of that family); None when
        the Service does not have the family."""
        if family == self.family:
            return self
        if family not in self.others:
            return None
        cluster_ip, ports = self.others[family]
        mine = (self.family, (self.cluster_ip, self.ports))
        rest = {f: v for f, v in self.others.items() if f != family}
        return replace(self, cluster_ip=cluster_ip, ports=ports, family=family, others={mine[0]: mine[1], **rest})


def service_families(obj: StoredObject) -> tuple[int, ...]:
    """The Service's families from its stored status (primary first); IPv4 for older records."""
    names = obj.status.get("ipFamilies") or ["IPv4"]
    return tuple(6 if n == "IPv6" else 4 for n in names)


def cluster_ip_of(obj: StoredObject, svc: Service, family: int | None = None) -> str | None:
    if svc.spec.clusterIP == "None" or svc.spec.type == "ExternalName":
        return None
    if family is not None:
        ips = obj.status.get("clusterIPs") or [obj.status.get("clusterIP") or svc.spec.clusterIP]
        return next((ip for ip in ips if ip and family_of(ip) == family), None)
    return obj.status.get("clusterIP") or svc.spec.clusterIP


def service_endpoints(lab: Lab, views: list[PodView] | None = None) -> list[ServiceEndpoints]:
    """Every Service with its endpoints, from `views` of the pods (read from the store when None),
    seen in the Service's primary family (`for_family` for the others)."""
    if views is None:
        views = pod_views(lab)
    dual = len(lab.topo.families) > 1
    result = []
    for o in lab.store.list("Service"):
        svc = service_model(o)
        if is_kubernetes_service(o.namespace, o.name) and not svc.spec.selector:
            family = service_families(o)[0] if dual else lab.topo.families[0]
            ports = apiserver_endpoints(lab, service_ports(svc), family)
            result.append(ServiceEndpoints(o, svc, cluster_ip_of(o, svc), ports, family))
            continue
        if not dual:
            ports = endpoints_for(o.namespace, o.name, svc.spec.selector, service_ports(svc), views)
            result.append(ServiceEndpoints(o, svc, cluster_ip_of(o, svc), ports, lab.topo.families[0]))
            continue
        families = [f for f in service_families(o) if f in lab.topo.families] or [lab.topo.families[0]]
        views_by_family = {
            f: (cluster_ip_of(o, svc, f), endpoints_for(o.namespace, o.name, svc.spec.selector, service_ports(svc), views, f))
            for f in families
        }
        primary = families[0]
        cluster_ip, ports = views_by_family.pop(primary)
        result.append(ServiceEndpoints(o, svc, cluster_ip, ports, primary, views_by_family))
    return result
