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
    return _port_endpoints(service_name, ports, selected_pods(namespace, selector, pods, family), family)


def selected_pods(
    namespace: str, selector: Mapping[str, str] | None, pods: Sequence[PodView], family: int | None = None
) -> list[PodView]:
    """The pods a selector picks in its namespace that have an address (of `family`) and a
    node, in the order of their addresses."""
    chosen = [
        (address, p)
        for p in pods
        if p.namespace == namespace and p.node and (address := _address(p, family)) and selects(selector, p.labels)
    ]
    chosen.sort(key=lambda found: _sort_key(found[0]))
    return [p for _, p in chosen]


def _address(pod: PodView, family: int | None) -> str | None:
    return pod.ip if family is None else pod.ip_of(family)


def _port_endpoints(
    service_name: str, ports: Sequence[tuple[str, str, int, int | str]], chosen: Sequence[PodView], family: int | None
) -> tuple[PortEndpoints, ...]:
    result = []
    for name, protocol, port, target in ports:
        backends = []
        for pod in chosen:
            number = resolve_target_port(target, protocol, pod)
            if number is None:
                continue
            backends.append(
                Backend(
                    ip=_address(pod, family),  # type: ignore[arg-type]
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
    families = lab.topo.families
    dual = len(families) > 1
    selections = _Selections(views)
    result = []
    for o in lab.store.list("Service"):
        svc = service_model(o)
        if is_kubernetes_service(o.namespace, o.name) and not svc.spec.selector:
            family = service_families(o)[0] if dual else families[0]
            ports = apiserver_endpoints(lab, service_ports(svc), family)
            result.append(ServiceEndpoints(o, svc, cluster_ip_of(o, svc), ports, family))
            continue
        if not dual:
            chosen = selections.pods(o.namespace, svc.spec.selector, None)
            ports = _port_endpoints(o.name, service_ports(svc), chosen, None)
            result.append(ServiceEndpoints(o, svc, cluster_ip_of(o, svc), ports, families[0]))
            continue
        own = [f for f in service_families(o) if f in families] or [families[0]]
        views_by_family = {
            f: (cluster_ip_of(o, svc, f), _port_endpoints(o.name, service_ports(svc), selections.pods(o.namespace, svc.spec.selector, f), f))
            for f in own
        }
        primary = own[0]
        cluster_ip, ports = views_by_family.pop(primary)
        result.append(ServiceEndpoints(o, svc, cluster_ip, ports, primary, views_by_family))
    return result


class _Selections:
    """The pods each selector picks, worked out once per selector, namespace and family for
    all the Services that share it (a Deployment's Service and its headless twin, the
    NodePort beside the ClusterIP): a publish at 1,000 Services otherwise walks every pod
    once per Service."""

    def __init__(self, views: Sequence[PodView]) -> None:
        self._by_namespace: dict[str, list[PodView]] = {}
        for view in views:
            self._by_namespace.setdefault(view.namespace, []).append(view)
        self._chosen: dict[tuple, list[PodView]] = {}

    def pods(self, namespace: str, selector: Mapping[str, str] | None, family: int | None) -> list[PodView]:
        if not selector:
            return []
        key = (namespace, tuple(sorted(selector.items())), family)
        chosen = self._chosen.get(key)
        if chosen is None:
            chosen = self._chosen[key] = selected_pods(namespace, selector, self._by_namespace.get(namespace, ()), family)
        return chosen
