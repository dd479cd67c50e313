"""apply and delete: validate against the cluster, write in one transaction, reconcile once.

What the apiserver would refuse is refused here, before anything is written: a namespace
that does not exist, a `clusterIP` or `nodePort` outside the range or already taken, a
`loadBalancerIP` outside the pool or taken, an external IP the lab cannot route, a changed
immutable field, a node that is not part of the cluster, a Service whose named targetPort no
selected pod declares. One error lists every problem; nothing from that invocation is applied.

Allocation happens here too, as in the apiserver: cluster IPs and NodePorts (kept in the
Service's status; released when it is deleted or no longer needs them). Load-balancer
addresses are the MetalLB controller's job, in the reconcile loop (`metallb.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Sequence

from netlab.api.kinds import ApiObject
from netlab.api.models import Namespace, Pod, Service
from netlab.apiserver import allocators as ipam
from netlab.controllers.endpoints import selects
from netlab.metallb.pool import in_pool
from netlab.apiserver.nodeports import allocate_node_port
from netlab.errors import InvalidInput, NotFound
from netlab.apiserver.state import Lab
from netlab.lab.reconcile import Outcome, reconcile
from netlab.lab.addons import namespace_manifest

RESOURCE = {
    "Pod": "pod", "Service": "service", "Namespace": "namespace",
    "NetworkPolicy": "networkpolicy.networking.k8s.io",
    "Deployment": "deployment.apps", "ReplicaSet": "replicaset.apps", "StatefulSet": "statefulset.apps",
}  # fmt: skip
# How the apiserver names a kind in "not found" (the plural resource).
PLURAL = {
    "NetworkPolicy": "networkpolicies.networking.k8s.io",
    "Deployment": "deployments.apps", "ReplicaSet": "replicasets.apps", "StatefulSet": "statefulsets.apps",
}  # fmt: skip
# kubectl's order: namespaces before what lives in them, Services before the pods behind them.
ORDER = {"Namespace": 0, "NetworkPolicy": 1, "Service": 1, "Deployment": 2, "StatefulSet": 2, "ReplicaSet": 3, "Pod": 4}
# What lives in a namespace and goes when it is deleted.
NAMESPACED = ("Pod", "Service", "NetworkPolicy", "Deployment", "ReplicaSet", "StatefulSet")
NODE_PORT_TYPES = ("NodePort", "LoadBalancer")


@dataclass(frozen=True)
class Change:
    kind: str
    namespace: str
    name: str
    verb: str  # created | configured | unchanged | deleted

    def __str__(self) -> str:
        if self.verb == "deleted":
            return f'{RESOURCE[self.kind]} "{self.name}" deleted'
        return f"{RESOURCE[self.kind]}/{self.name} {self.verb}"


def _ns(obj: ApiObject) -> str:
    return "" if isinstance(obj, Namespace) else obj.metadata.namespace


def manifest(obj: ApiObject) -> dict:
    data = obj.to_dict()
    if isinstance(obj, Namespace):
        labels = {**(data["metadata"].get("labels") or {}), "kubernetes.io/metadata.name": obj.metadata.name}
        data["metadata"]["labels"] = labels
    return data


def _validate(lab: Lab, objects: Sequence[ApiObject], where: Sequence[str]) -> list[str]:
    problems: list[str] = []
    store = lab.store
    namespaces = {o.name for o in store.list("Namespace")} | {
        o.metadata.name for o in objects if isinstance(o, Namespace)
    }
    batch_pods = [o for o in objects if isinstance(o, Pod)]
    taken = {
        o.status.get("clusterIP") or o.manifest.get("spec", {}).get("clusterIP"): (o.namespace, o.name)
        for o in store.list("Service")
    }
    nodes = {n.name for n in lab.topo.nodes}
    exposure = _Exposure.of(lab)
    for obj, src in zip(objects, where):
        kind, namespace, name = obj.kind, _ns(obj), obj.metadata.name
        subject = f"{src}: {kind} {namespace + '/' if namespace else ''}{name}"
        if namespace and namespace not in namespaces:
            problems.append(f'{subject}: metadata.namespace: namespaces "{namespace}" not found')
        existing = store.get(kind, namespace, name)
        if isinstance(obj, Pod):
            if obj.spec.nodeName and obj.spec.nodeName not in nodes:
                problems.append(
                    f"{subject}: spec.nodeName: node \"{obj.spec.nodeName}\" is not part of cluster "
                    f"{lab.name} (nodes: {', '.join(sorted(nodes))})"
                )
            if existing and existing.manifest.get("spec") != manifest(obj).get("spec"):
                problems.append(
                    f"{subject}: spec: Forbidden: pod updates may not change fields other than labels "
                    f"and annotations; delete and re-create it (netlab delete pod {name} -n {namespace})"
                )
        if isinstance(obj, Service):
            problems += _validate_service(lab, obj, subject, existing, taken, batch_pods)
            problems += exposure.check(lab, obj, subject)
    return problems


@dataclass
class _Exposure:
    """What Services already hold outside the cluster network: NodePorts and LB addresses."""

    node_ports: dict[int, tuple[str, str]]
    lb_ips: dict[str, tuple[str, str]]

    @classmethod
    def of(cls, lab: Lab) -> "_Exposure":
        node_ports, lb_ips = {}, {}
        for o in lab.store.list("Service"):
            for port in (o.status.get("nodePorts") or {}).values():
                node_ports[port] = (o.namespace, o.name)
            for ingress in (o.status.get("loadBalancer") or {}).get("ingress", []):
                lb_ips[ingress["ip"]] = (o.namespace, o.name)
        return cls(node_ports, lb_ips)

    def check(self, lab: Lab, svc: Service, subject: str) -> list[str]:
        """Every problem with the Service's NodePorts, loadBalancerIP and externalIPs; what it
        asks for is then counted as taken for the rest of the batch."""
        problems = []
        spec, me = svc.spec, (svc.metadata.namespace, svc.metadata.name)
        valid = lab.config.node_port_range
        for i, port in enumerate(spec.ports):
            if port.nodePort is None or spec.type not in NODE_PORT_TYPES:
                continue
            where = f"{subject}: spec.ports[{i}].nodePort: Invalid value: {port.nodePort}: provided port"
            if port.nodePort not in valid:
                problems.append(
                    f"{where} is not in the valid range. The range of valid ports is {valid.start}-{valid.stop - 1}"
                )
            elif self.node_ports.setdefault(port.nodePort, me) != me:
                owner = self.node_ports[port.nodePort]
                problems.append(f"{where} is already allocated (to service {owner[0]}/{owner[1]})")
        pool = lab.config.load_balancer_range
        if spec.type == "LoadBalancer" and spec.loadBalancerIP:
            ip = spec.loadBalancerIP
            where = f'{subject}: spec.loadBalancerIP: Invalid value: "{ip}"'
            if not in_pool(IPv4Address(ip), pool):
                where_pool = f"pool {lab.config.loadBalancerPool}" if pool else "pool (the cluster has none)"
                problems.append(f"{where}: not in the cluster's load-balancer {where_pool}; see loadBalancerPool in the Cluster config")
            elif self.lb_ips.setdefault(ip, me) != me:
                owner = self.lb_ips[ip]
                problems.append(f"{where}: already allocated (to service {owner[0]}/{owner[1]})")
        underlay = lab.topo.underlay
        infrastructure = {lab.config.host_underlay_ip, *(n.underlay_ip for n in lab.topo.nodes)}
        for i, text in enumerate(spec.externalIPs):
            ip = IPv4Address(text)
            where = f'{subject}: spec.externalIPs[{i}]: Invalid value: "{text}"'
            if ip not in underlay or ip in (underlay.network_address, underlay.broadcast_address):
                # A real cluster relies on the network to route external IPs to a node; the
                # lab's only network is its underlay, where netlab announces them.
                problems.append(f"{where}: netlab can only route external IPs inside the lab's underlay {underlay}")
            elif ip in infrastructure:
                problems.append(f"{where}: is the host's or a node's own underlay address")
            elif in_pool(ip, pool):
                problems.append(f"{where}: is inside the load-balancer pool {lab.config.loadBalancerPool}, which belongs to LoadBalancer Services")
        return problems


def _validate_service(lab, svc: Service, subject, existing, taken, batch_pods) -> list[str]:
    problems = []
    spec = svc.spec
    ip = spec.clusterIP
    ns, name = svc.metadata.namespace, svc.metadata.name
    current = existing.status.get("clusterIP") if existing else None
    if ip and ip != "None":
        if IPv4Address(ip) not in lab.topo.service_cidr:
            problems.append(
                f"{subject}: spec.clusterIP: Invalid value: \"{ip}\": provided IP is not in the valid range. "
                f"The range of valid IPs is {lab.topo.service_cidr}"
            )
        elif taken.get(ip, (ns, name)) != (ns, name):
            owner = taken[ip]
            problems.append(
                f"{subject}: spec.clusterIP: Invalid value: \"{ip}\": provided IP is already allocated "
                f"(to service {owner[0]}/{owner[1]})"
            )
    if existing:
        was_headless = existing.manifest.get("spec", {}).get("clusterIP") == "None"
        effective = "None" if was_headless else current
        if ip and effective and ip != effective:
            problems.append(f"{subject}: spec.clusterIP: Invalid value: \"{ip}\": field is immutable")
    # A named targetPort must be declared by the pods the Service selects (when there are any).
    stored = [Pod.model_validate(o.manifest) for o in lab.store.list("Pod", ns)]
    batch_keys = {(p.metadata.namespace, p.metadata.name) for p in batch_pods}
    pods = [p for p in stored if (ns, p.metadata.name) not in batch_keys] + [
        p for p in batch_pods if p.metadata.namespace == ns
    ]
    selected = [p for p in pods if selects(spec.selector, p.metadata.labels or {})]
    for i, port in enumerate(spec.ports):
        if not isinstance(port.targetPort, str) or not selected:
            continue
        declared = any(
            cp.name == port.targetPort and cp.protocol == port.protocol
            for p in selected
            for c in p.spec.containers
            for cp in c.ports
        )
        if not declared:
            problems.append(
                f"{subject}: spec.ports[{i}].targetPort: no pod selected by {spec.selector} declares a "
                f"{port.protocol} containerPort named \"{port.targetPort}\" "
                f"(selected: {', '.join(p.metadata.name for p in selected)})"
            )
    return problems


def apply(lab: Lab, objects: Sequence[ApiObject], where: Sequence[str] | None = None) -> tuple[list[Change], Outcome]:
    where = list(where) if where is not None else ["<input>"] * len(objects)
    problems = _validate(lab, objects, where)
    if problems:
        raise InvalidInput(problems)
    verbs: dict[int, str] = {}
    ordered = sorted(range(len(objects)), key=lambda i: ORDER[objects[i].kind])
    # Ports asked for by name in this batch are off limits for automatic allocation.
    requested_node_ports = {
        p.nodePort for o in objects if isinstance(o, Service) and o.spec.type in NODE_PORT_TYPES for p in o.spec.ports if p.nodePort
    }
    with lab.store.transaction():
        used = {IPv4Address(ip) for o in lab.store.list("Service") if (ip := o.status.get("clusterIP"))}
        used.add(lab.topo.dns_ip)
        for i in ordered:
            obj = objects[i]
            verbs[i] = lab.store.put(obj.kind, _ns(obj), obj.metadata.name, manifest(obj))
            if isinstance(obj, Service):
                _assign_cluster_ip(lab, obj, used)
                _assign_node_ports(lab, obj, requested_node_ports)
    changes = [Change(o.kind, _ns(o), o.metadata.name, verbs[i]) for i, o in enumerate(objects)]
    return changes, reconcile(lab)


def _assign_cluster_ip(lab: Lab, svc: Service, used: set[IPv4Address]) -> None:
    ns, name = svc.metadata.namespace, svc.metadata.name
    status = dict(lab.store.get("Service", ns, name).status)
    spec_ip = svc.spec.clusterIP
    if svc.spec.type == "ExternalName" or spec_ip == "None":
        status.pop("clusterIP", None)
    elif spec_ip:
        status["clusterIP"] = spec_ip
    elif not status.get("clusterIP"):
        ip = ipam.allocate_cluster_ip(lab.topo.service_cidr, used)
        status["clusterIP"] = str(ip)
    if status.get("clusterIP"):
        used.add(IPv4Address(status["clusterIP"]))
    lab.store.set_status("Service", ns, name, status)


def _assign_node_ports(lab: Lab, svc: Service, requested: set[int]) -> None:
    """status.nodePorts = {port name: NodePort}; dropped when the type no longer has them."""
    ns, name = svc.metadata.namespace, svc.metadata.name
    status = dict(lab.store.get("Service", ns, name).status)
    previous = status.pop("nodePorts", None) or {}
    if svc.spec.type != "LoadBalancer":
        status.pop("loadBalancer", None)  # the MetalLB controller's address goes back to the pool
    if svc.spec.type not in NODE_PORT_TYPES:
        lab.store.set_status("Service", ns, name, status)
        return
    used = {
        port
        for o in lab.store.list("Service")
        if (o.namespace, o.name) != (ns, name)
        for port in (o.status.get("nodePorts") or {}).values()
    } | requested
    explicit = {p.nodePort for p in svc.spec.ports if p.nodePort}
    assigned: dict[str, int] = {}
    for port in svc.spec.ports:
        key = port.name or ""
        if port.nodePort:
            assigned[key] = port.nodePort
            continue
        # Like the apiserver's patchAllocatedValues: a port keeps the NodePort it had under
        # the same name, unless another port of the Service now claims that number.
        kept = previous.get(key)
        if kept and kept not in explicit and kept not in used and kept not in assigned.values():
            assigned[key] = kept
        else:
            taken = used | explicit | set(assigned.values())
            assigned[key] = allocate_node_port(lab.config.node_port_range, taken)
    status["nodePorts"] = assigned
    lab.store.set_status("Service", ns, name, status)


def delete(lab: Lab, refs: Sequence[tuple[str, str, str]], *, ignore_not_found: bool = False) -> tuple[list[Change], Outcome]:
    """Delete (kind, namespace, name) objects; deleting a Namespace deletes what is in it."""
    missing = [r for r in refs if lab.store.get(*r) is None]
    if missing and not ignore_not_found:
        raise NotFound(
            "; ".join(f'{PLURAL.get(k, RESOURCE[k] + "s")} "{n}" not found' + (f" in namespace {ns}" if ns else "") for k, ns, n in missing)
        )
    changes = []
    with lab.store.transaction():
        for kind, namespace, name in refs:
            if kind == "Namespace":
                for inner in NAMESPACED:
                    for o in lab.store.list(inner, name):
                        lab.store.delete(inner, name, o.name)
            if lab.store.delete(kind, namespace, name):
                changes.append(Change(kind, namespace, name, "deleted"))
    return changes, reconcile(lab)


def ensure_default_namespace(lab: Lab) -> None:
    if lab.store.get("Namespace", "", "default") is None:
        with lab.store.transaction():
            lab.store.put("Namespace", "", "default", namespace_manifest("default"))
