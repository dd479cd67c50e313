"""Admission: what the apiserver would refuse is refused here, before anything is written.

A namespace that does not exist, a `clusterIP` or `nodePort` outside the range or already
taken, a `loadBalancerIP` outside the pool or taken, an external IP the lab cannot route, a
changed immutable field, a node that is not part of the cluster, a Service whose named
targetPort no selected pod declares. One error lists every problem. Also the defaulting the
stored form gets (a Namespace's `kubernetes.io/metadata.name` label).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import ip_address
from typing import TYPE_CHECKING

from netlab.api.addressing import in_pool
from netlab.api.kinds import BY_KIND
from netlab.api.labels import selects
from netlab.api.models import Namespace, Pod, Service
from netlab.apiserver import ipfamilies
from netlab.apiserver.state import Lab

if TYPE_CHECKING:
    from netlab.api.kinds import ApiObject

NODE_PORT_TYPES = ("NodePort", "LoadBalancer")


def object_namespace(obj: ApiObject) -> str:
    """The namespace the apiserver keys the object under ("" for cluster-scoped kinds)."""
    return obj.metadata.namespace if BY_KIND[obj.kind].namespaced else ""


def manifest(obj: ApiObject) -> dict:
    """The stored form, defaulted: every Namespace carries its own name as a label."""
    data = obj.to_dict()
    if isinstance(obj, Namespace):
        labels = {**(data["metadata"].get("labels") or {}), "kubernetes.io/metadata.name": obj.metadata.name}
        data["metadata"]["labels"] = labels
    return data


def validate(lab: Lab, objects: Sequence[ApiObject], where: Sequence[str]) -> list[str]:
    """Every problem with the batch (`where` names each object's file), against the stored state."""
    problems: list[str] = []
    store = lab.store
    namespaces = {o.name for o in store.list("Namespace")} | {
        o.metadata.name for o in objects if isinstance(o, Namespace)
    }
    batch_pods = [o for o in objects if isinstance(o, Pod)]
    taken = {ip: (o.namespace, o.name) for o in store.list("Service") for ip in cluster_ips(o)}
    nodes = {n.name for n in lab.topo.nodes}
    exposure = _Exposure.of(lab)
    for obj, src in zip(objects, where):
        kind, namespace, name = obj.kind, object_namespace(obj), obj.metadata.name
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
        if kind in ("RoleBinding", "ClusterRoleBinding") and existing and existing.manifest.get("roleRef") != manifest(obj).get("roleRef"):
            ref = manifest(obj).get("roleRef") or {}
            shown = f'rbac.RoleRef{{APIGroup:"{ref.get("apiGroup", "")}", Kind:"{ref.get("kind", "")}", Name:"{ref.get("name", "")}"}}'
            problems.append(f"{subject}: roleRef: Invalid value: {shown}: cannot change roleRef")
        if existing and obj.kind in ("ConfigMap", "Secret"):
            problems += _immutable_data(existing.manifest, manifest(obj), subject)
        if isinstance(obj, Service):
            problems += _validate_service(lab, obj, subject, existing, taken, batch_pods)
            problems += exposure.check(lab, obj, subject)
    return problems


def _immutable_data(old: dict, new: dict, subject: str) -> list[str]:
    """ValidateConfigMapUpdate / ValidateSecretUpdate: once `immutable: true`, the data stays
    and so does the flag."""
    if not old.get("immutable"):
        return []
    problems = []
    if not new.get("immutable"):
        problems.append(f"{subject}: immutable: Forbidden: field is immutable when `immutable` is set")
    for field in ("data", "binaryData"):
        if (old.get(field) or {}) != (new.get(field) or {}):
            problems.append(f"{subject}: {field}: Forbidden: field is immutable when `immutable` is set")
    return problems


def cluster_ips(obj) -> list[str]:
    """A stored Service's cluster IPs (primary first), as allocated."""
    status = obj.status
    found = status.get("clusterIPs") or ([status["clusterIP"]] if status.get("clusterIP") else [])
    if not found and (ip := obj.manifest.get("spec", {}).get("clusterIP")) and ip != "None":
        found = [ip]
    return list(found)


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
        if spec.type == "LoadBalancer" and spec.loadBalancerIP:
            ip = spec.loadBalancerIP
            pool = lab.config.load_balancer_range_for(ip_address(ip).version)
            where = f'{subject}: spec.loadBalancerIP: Invalid value: "{ip}"'
            if not in_pool(ip_address(ip), pool):
                where_pool = f"pool {lab.config.loadBalancerPool}" if pool else "pool (the cluster has none)"
                problems.append(f"{where}: not in the cluster's load-balancer {where_pool}; see loadBalancerPool in the Cluster config")
            elif self.lb_ips.setdefault(ip, me) != me:
                owner = self.lb_ips[ip]
                problems.append(f"{where}: already allocated (to service {owner[0]}/{owner[1]})")
        infrastructure = {*lab.config.host_underlay_ips, *(ip for n in lab.topo.nodes for ip in n.underlay_ips)}
        for i, text in enumerate(spec.externalIPs):
            ip = ip_address(text)
            underlay = lab.topo.underlay_for(ip.version)
            pool = lab.config.load_balancer_range_for(ip.version)
            where = f'{subject}: spec.externalIPs[{i}]: Invalid value: "{text}"'
            if underlay is None:
                problems.append(f"{where}: the cluster has no IPv{ip.version} addresses")
            elif ip not in underlay or ip in (underlay.network_address, underlay.broadcast_address):
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
    ns, name = svc.metadata.namespace, svc.metadata.name
    _, family_problems = ipfamilies.resolve(spec, lab.topo.families, existing.status if existing else None)
    problems += [f"{subject}: {field}: {message}" for field, message in family_problems]
    asked = list(spec.clusterIPs or ([spec.clusterIP] if spec.clusterIP else []))
    for i, ip in enumerate(asked):
        if ip == "None":
            continue
        field = f"spec.clusterIPs[{i}]" if spec.clusterIPs else "spec.clusterIP"
        cidr = lab.topo.service_cidr_for(ip_address(ip).version)
        if cidr is None:
            continue  # the family's own problem is reported above
        if ip_address(ip) not in cidr:
            problems.append(
                f"{subject}: {field}: Invalid value: \"{ip}\": provided IP is not in the valid range. "
                f"The range of valid IPs is {cidr}"
            )
        elif taken.get(ip, (ns, name)) != (ns, name):
            owner = taken[ip]
            problems.append(
                f"{subject}: {field}: Invalid value: \"{ip}\": provided IP is already allocated "
                f"(to service {owner[0]}/{owner[1]})"
            )
    if existing:
        was_headless = existing.manifest.get("spec", {}).get("clusterIP") == "None"
        current = ["None"] if was_headless else cluster_ips(existing)
        # As the apiserver words it (clusterIP is normalised into clusterIPs before validation,
        # ValidateServiceUpdate's validateUpgradeDowngradeClusterIPs).
        shown = "[]string{" + ", ".join(f'"{a}"' for a in asked) + "}"
        for i, ip in enumerate(asked):
            if i < len(current) and ip != current[i] and (i == 0 or ip != "None"):
                problems.append(f"{subject}: spec.clusterIPs[{i}]: Invalid value: {shown}: may not change once set")
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

