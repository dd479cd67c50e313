"""The apiserver's registry: admitted objects are written in one transaction, with what the
apiserver allocates for them — cluster IPs and NodePorts, kept in the Service's status and
released when it is deleted or no longer needs them.

Nothing here touches the kernel or runs a controller: `netlab.lab.commands` pairs each write
with one reconcile. Load-balancer addresses are the MetalLB controller's (`metallb/controller.py`).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import ip_address
from typing import TYPE_CHECKING

from netlab.api.kinds import BY_KIND, KINDS
from netlab.api.models import Service
from netlab.apiserver import ipfamilies
from netlab.apiserver.admission import (
    NODE_PORT_TYPES,
    cluster_ips,
    manifest,
    object_namespace,
    validate,
)
from netlab.apiserver.allocators import allocate_cluster_ip, allocate_node_port
from netlab.apiserver.state import Lab
from netlab.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from netlab.api.kinds import ApiObject

# What lives in a namespace and goes when it is deleted.
NAMESPACED = tuple(k.kind for k in KINDS if k.namespaced and k.modelled)


@dataclass(frozen=True)
class Change:
    kind: str
    namespace: str
    name: str
    verb: str  # created | configured | unchanged | deleted | scaled

    def __str__(self) -> str:
        if self.verb == "deleted":
            return f'{BY_KIND[self.kind].qualified} "{self.name}" deleted'
        return f"{BY_KIND[self.kind].qualified}/{self.name} {self.verb}"


def apply(lab: Lab, objects: Sequence[ApiObject], where: Sequence[str] | None = None) -> list[Change]:
    """Admit every object or none (one InvalidInput lists every problem), then write them all."""
    where = list(where) if where is not None else ["<input>"] * len(objects)
    problems = validate(lab, objects, where)
    if problems:
        raise InvalidInput(problems)
    verbs: dict[int, str] = {}
    ordered = sorted(range(len(objects)), key=lambda i: BY_KIND[objects[i].kind].apply_order)
    # Ports asked for by name in this batch are off limits for automatic allocation.
    requested_node_ports = {
        p.nodePort for o in objects if isinstance(o, Service) and o.spec.type in NODE_PORT_TYPES for p in o.spec.ports if p.nodePort
    }
    with lab.store.transaction():
        used = {ip_address(ip) for o in lab.store.list("Service") for ip in cluster_ips(o)}
        used.update(lab.topo.dns_ips)
        for i in ordered:
            obj = objects[i]
            before = lab.store.get(obj.kind, object_namespace(obj), obj.metadata.name) if isinstance(obj, Service) else None
            verbs[i] = lab.store.put(obj.kind, object_namespace(obj), obj.metadata.name, manifest(obj))
            if isinstance(obj, Service):
                _assign_cluster_ips(lab, obj, used, before.status if before else None)
                _assign_node_ports(lab, obj, requested_node_ports)
    changes = [Change(o.kind, object_namespace(o), o.metadata.name, verbs[i]) for i, o in enumerate(objects)]
    return changes


def _assign_cluster_ips(lab: Lab, svc: Service, used: set, stored: dict | None) -> None:
    """status.clusterIP(s), ipFamilies and ipFamilyPolicy, as the apiserver fills the spec: a
    cluster IP per family (kept, asked for, or allocated from that family's range)."""
    ns, name = svc.metadata.namespace, svc.metadata.name
    status = dict(lab.store.get("Service", ns, name).status)
    resolved, _ = ipfamilies.resolve(svc.spec, lab.topo.families, stored)
    for key in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"):
        status.pop(key, None)
    if resolved is not None:
        status["ipFamilies"] = list(resolved.families)
        status["ipFamilyPolicy"] = resolved.policy
    if resolved is not None and not ipfamilies.headless(svc.spec):
        current = cluster_ips(lab.store.get("Service", ns, name)) if stored is None else (
            stored.get("clusterIPs") or ([stored["clusterIP"]] if stored.get("clusterIP") else [])
        )
        asked = list(svc.spec.clusterIPs or ([svc.spec.clusterIP] if svc.spec.clusterIP else []))
        ips = []
        for i, family_name in enumerate(resolved.families):
            family = 6 if family_name == "IPv6" else 4
            kept = [ip for ip in current if ip_address(ip).version == family]
            if i < len(asked):
                ips.append(asked[i])
            elif kept:
                ips.append(kept[0])
            elif (cidr := lab.topo.service_cidr_for(family)) is not None:
                ips.append(str(allocate_cluster_ip(cidr, used)))
            used.update(ip_address(ip) for ip in ips)
        # The released addresses of a family the Service no longer has go back to the pool.
        used.difference_update(ip_address(ip) for ip in current if ip not in ips)
        status["clusterIP"], status["clusterIPs"] = ips[0], ips
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


def delete(lab: Lab, refs: Sequence[tuple[str, str, str]], *, ignore_not_found: bool = False) -> list[Change]:
    """Delete (kind, namespace, name) objects; deleting a Namespace deletes what is in it."""
    missing = [r for r in refs if lab.store.get(*r) is None]
    if missing and not ignore_not_found:
        raise NotFound(
            "; ".join(f'{BY_KIND[k].qualified_plural} "{n}" not found' + (f" in namespace {ns}" if ns else "") for k, ns, n in missing)
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
    return changes


def scale(lab: Lab, kind: str, namespace: str, name: str, replicas: int) -> Change:
    """Set spec.replicas of a Deployment, ReplicaSet or StatefulSet (the /scale subresource)."""
    obj = lab.store.get(kind, namespace, name)
    if obj is None:
        raise NotFound(f'{BY_KIND[kind].qualified_plural} "{name}" not found in namespace "{namespace}"')
    manifest = copy.deepcopy(obj.manifest)
    manifest["spec"]["replicas"] = replicas
    with lab.store.transaction():
        lab.store.put(kind, namespace, name, manifest)
    return Change(kind, namespace, name, "scaled")
