"""`netlab get`: rows for each kind, and the documents `-o json|yaml` prints.

Pure over the store plus process liveness; the CLI only formats what these return. Here are
the core kinds' views (pods, services, endpoints, nodes, namespaces, network policies) and
`VIEWS`, the table `view_for` reads; the other kinds' views live in their own modules of views/
(workloads.py for Deployments, ReplicaSets and StatefulSets) and are imported when they run.
A view imports the models and controllers only it needs (endpoints, scheduler): `get pods`,
the command run most, loads none of them and builds no pydantic model — it reads the stored
manifests, which admission validated and defaulted before they were stored.
"""

from __future__ import annotations

import importlib
import time
from typing import TYPE_CHECKING, Any

from netlab import __version__, naming
from netlab.api.kinds import KindInfo, lookup
from netlab.kernel import ns
from netlab.kubelet.status import pod_state
from netlab.views.objects import (
    age,
    metadata,
    pod_object,
    selected,
    stored_pod,
    timestamp,
)

if TYPE_CHECKING:
    from netlab.api.labels import Selector
    from netlab.apiserver.state import Lab
    from netlab.controllers.endpoints import ServiceEndpoints


def ingress_ips(status: dict[str, Any]):
    from netlab.metallb.controller import ingress_ips

    return ingress_ips(status)


def pods(lab: Lab, namespace: str | None, selector: Selector | None, wide: bool) -> tuple[list[str], list[list[Any]], list[dict]]:
    now = time.time()
    headers = ["NAME", "READY", "STATUS", "RESTARTS", "AGE"] + (["IP", "NODE", "NOMINATED NODE", "READINESS GATES"] if wide else [])
    rows, docs = [], []
    for o in selected(lab.store.list("Pod", namespace), selector):
        pod = stored_pod(o)
        st = pod_state(o, pod)  # type: ignore[arg-type]
        row = [o.name, f"{st.ready}/{st.total}", st.display, st.restarts, age(o.created, now)]
        if wide:
            row += [o.status.get("podIP") or "<none>", o.status.get("nodeName") or "<none>",
                    o.status.get("nominatedNodeName") or "<none>", readiness_gates(o.manifest, o.status)]
        rows.append(([o.namespace] if namespace is None else []) + row)
        docs.append(pod_object(o, pod, st))
    if namespace is None:
        headers = ["NAMESPACE"] + headers
    return headers, rows, docs


def readiness_gates(manifest: dict, status: dict) -> str:
    """kubectl's READINESS GATES column: how many of the pod's gates have a True condition."""
    gates = [g.get("conditionType") for g in (manifest.get("spec") or {}).get("readinessGates") or []]
    if not gates:
        return "<none>"
    true = {c.get("type") for c in status.get("conditions") or [] if c.get("status") == "True"}
    return f"{sum(1 for g in gates if g in true)}/{len(gates)}"


def _node_ports(se: ServiceEndpoints) -> dict[str, int]:
    """Port name -> NodePort, as allocated (status) for the types that have them."""
    if se.service.spec.type not in ("NodePort", "LoadBalancer"):
        return {}
    return se.obj.status.get("nodePorts") or {}


def _ports_text(se: ServiceEndpoints) -> str:
    """kubectl's PORT(S): `80/TCP`, or `80:30080/TCP` with a NodePort."""
    svc, node_ports = se.service, _node_ports(se)
    if not svc.spec.ports:
        return "<none>"
    return ",".join(
        f"{p.port}:{node_ports[p.name or '']}/{p.protocol}" if node_ports.get(p.name or "") else f"{p.port}/{p.protocol}"
        for p in svc.spec.ports
    )


def external_ip_text(se: ServiceEndpoints) -> str:
    """kubectl's EXTERNAL-IP (getServiceExternalIP)."""
    spec = se.service.spec
    if spec.type == "ExternalName":
        return spec.externalName or "<none>"
    addresses = list(ingress_ips(se.obj.status)) if spec.type == "LoadBalancer" else []
    addresses += spec.externalIPs
    if addresses:
        return ",".join(addresses)
    return "<pending>" if spec.type == "LoadBalancer" else "<none>"


def service_object(se: ServiceEndpoints) -> dict[str, Any]:
    o, svc = se.obj, se.service
    spec = dict(o.manifest.get("spec") or {})
    spec.setdefault("type", svc.spec.type)
    if se.cluster_ip:
        spec["clusterIP"] = se.cluster_ip
        spec["clusterIPs"] = list(o.status.get("clusterIPs") or [se.cluster_ip])
    for key in ("ipFamilies", "ipFamilyPolicy"):
        if o.status.get(key):
            spec[key] = o.status[key]
    node_ports = _node_ports(se)
    spec["ports"] = [
        {
            **p,
            "protocol": p.get("protocol", "TCP"),
            "targetPort": p.get("targetPort", p["port"]),
            **({"nodePort": node_ports[p.get("name", "")]} if p.get("name", "") in node_ports else {}),
        }
        for p in spec.get("ports", [])
    ]
    spec.setdefault("sessionAffinity", "None")
    if svc.spec.type in ("NodePort", "LoadBalancer") or svc.spec.externalIPs:
        spec.setdefault("externalTrafficPolicy", "Cluster")
    if se.cluster_ip:
        spec.setdefault("internalTrafficPolicy", "Cluster")
    ingress = [{"ip": ip} for ip in ingress_ips(o.status)] if svc.spec.type == "LoadBalancer" else []
    status = {"loadBalancer": {"ingress": ingress} if ingress else {}}
    return {"apiVersion": "v1", "kind": "Service", "metadata": metadata(o), "spec": spec, "status": status}


def services(lab: Lab, namespace: str | None, selector: Selector | None, wide: bool):
    from netlab.controllers.endpoints import service_endpoints

    now = time.time()
    headers = ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"] + (["SELECTOR"] if wide else [])
    keep = {o.key for o in selected(lab.store.list("Service", namespace), selector)}
    rows, docs = [], []
    for se in service_endpoints(lab):
        if se.obj.key not in keep:
            continue
        svc = se.service
        # kubectl prints the spec's clusterIP: "None" when headless, nothing for ExternalName.
        cluster_ip = se.cluster_ip or ("<none>" if svc.spec.type == "ExternalName" else "None")
        row = [se.obj.name, svc.spec.type, cluster_ip, external_ip_text(se), _ports_text(se), age(se.obj.created, now)]
        if wide:
            row.append(",".join(f"{k}={v}" for k, v in (svc.spec.selector or {}).items()) or "<none>")
        rows.append(([se.obj.namespace] if namespace is None else []) + row)
        docs.append(service_object(se))
    if namespace is None:
        headers = ["NAMESPACE"] + headers
    return headers, rows, docs


def endpoints_text(se: ServiceEndpoints) -> str:
    addrs = []
    for pe in se.ports:
        for b in pe.backends:
            if b.ready:
                text = f"{b.ip}:{b.port}"
                if text not in addrs:
                    addrs.append(text)
    if not addrs:
        return "<none>"
    if len(addrs) > 3:
        return ",".join(addrs[:3]) + f" + {len(addrs) - 3} more..."
    return ",".join(addrs)


def endpoints_object(se: ServiceEndpoints) -> dict[str, Any]:
    # One subset per distinct backend port set, as the Endpoints API groups them.
    subsets: dict[tuple, dict[str, Any]] = {}
    for pe in se.ports:
        for b in pe.backends:
            key = (b.port,)
            subset = subsets.setdefault(key, {"addresses": [], "notReadyAddresses": [], "ports": []})
            address: dict[str, Any] = {"ip": b.ip}
            if b.pod:  # the apiserver's own endpoint (default/kubernetes) is no pod
                address.update(nodeName=b.node, targetRef={"kind": "Pod", "namespace": b.pod.split("/")[0], "name": b.pod.split("/")[1]})
            if b.hostname:
                address["hostname"] = b.hostname
            bucket = subset["addresses"] if b.ready else subset["notReadyAddresses"]
            if address not in bucket:
                bucket.append(address)
            port = {"name": pe.name, "port": b.port, "protocol": pe.protocol} if pe.name else {"port": b.port, "protocol": pe.protocol}
            if port not in subset["ports"]:
                subset["ports"].append(port)
    meta = metadata(se.obj)
    meta.pop("uid", None)
    items = [{k: v for k, v in s.items() if v} for s in subsets.values()]
    return {"apiVersion": "v1", "kind": "Endpoints", "metadata": meta, "subsets": items}


def endpoints(lab: Lab, namespace: str | None, selector: Selector | None, wide: bool):
    from netlab.controllers.endpoints import service_endpoints

    now = time.time()
    headers = ["NAME", "ENDPOINTS", "AGE"]
    keep = {o.key for o in selected(lab.store.list("Service", namespace), selector)}
    rows, docs = [], []
    for se in service_endpoints(lab):
        if se.obj.key not in keep or not (se.service.spec.selector or any(pe.backends for pe in se.ports)):
            continue  # no selector: only the apiserver writes Endpoints for one (default/kubernetes)
        rows.append(([se.obj.namespace] if namespace is None else []) + [se.obj.name, endpoints_text(se), age(se.obj.created, now)])
        docs.append(endpoints_object(se))
    if namespace is None:
        headers = ["NAMESPACE"] + headers
    return headers, rows, docs


def nodes(lab: Lab, namespace: str | None, selector: Selector | None, wide: bool):
    from netlab.controllers.scheduler import node_labels

    created = lab.store.get_meta("created") or time.time()
    states = lab.store.get_meta("nodes") or {}
    now = time.time()
    headers = ["NAME", "STATUS", "ROLES", "AGE", "VERSION"] + (["INTERNAL-IP", "POD-CIDR", "NETNS"] if wide else [])
    rows, docs = [], []
    for n in lab.topo.nodes:
        labels = node_labels(n.name, n.labels)
        if selector is not None and not selector.matches(labels):
            continue
        netns = naming.node_netns(lab.name, n.name)
        ready = ns.is_pinned(ns.netns_path(netns))
        state = states.get(n.name, {})
        status = ("Ready" if ready and not state.get("failed") else "NotReady") + (",SchedulingDisabled" if state.get("unschedulable") else "")
        row = [n.name, status, "<none>", age(created, now), f"netlab-{__version__}"]
        if wide:
            row += [str(n.underlay_ip), str(n.subnet), netns]
        rows.append(row)
        docs.append(
            {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {"name": n.name, "labels": labels, "creationTimestamp": timestamp(created)},
                "spec": {
                    "podCIDR": str(n.subnet),
                    "podCIDRs": [str(s) for s in n.subnets],  # one per family, primary first
                    **({"unschedulable": True} if state.get("unschedulable") else {}),
                },
                "status": {
                    "addresses": [
                        *({"type": "InternalIP", "address": str(ip)} for ip in n.underlay_ips),
                        {"type": "Hostname", "address": n.name},
                    ],
                    "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
                },
            }
        )
    return headers, rows, docs


def namespaces(lab: Lab, namespace: str | None, selector: Selector | None, wide: bool):
    now = time.time()
    rows, docs = [], []
    for o in selected(lab.store.list("Namespace"), selector):
        rows.append([o.name, "Active", age(o.created, now)])
        docs.append({"apiVersion": "v1", "kind": "Namespace", "metadata": metadata(o), "status": {"phase": "Active"}})
    return ["NAME", "STATUS", "AGE"], rows, docs


def networkpolicies(lab: Lab, namespace: str | None, selector: Selector | None, wide: bool):
    """kubectl's columns for NetworkPolicy: NAME POD-SELECTOR AGE."""
    from netlab.api.networkpolicy import NetworkPolicy

    now = time.time()
    rows, docs = [], []
    for o in selected(lab.store.list("NetworkPolicy", namespace), selector):
        np = NetworkPolicy.model_validate(o.manifest)
        pod_selector = str(np.spec.podSelector.selector()) or "<none>"
        rows.append(([o.namespace] if namespace is None else []) + [o.name, pod_selector, age(o.created, now)])
        docs.append({**o.manifest, "metadata": metadata(o)})
    headers = ["NAME", "POD-SELECTOR", "AGE"]
    return (["NAMESPACE"] + headers if namespace is None else headers), rows, docs


def _elsewhere(module: str, name: str):
    """A view defined in another module of views/, imported when it runs."""

    def view(lab: Lab, namespace: str | None, selector: Selector | None, wide: bool):
        return getattr(importlib.import_module(module), name)(lab, namespace, selector, wide)

    return view


deployments = _elsewhere("netlab.views.workloads", "deployments")
replicasets = _elsewhere("netlab.views.workloads", "replicasets")
statefulsets = _elsewhere("netlab.views.workloads", "statefulsets")
endpointslices = _elsewhere("netlab.views.endpointslices", "endpointslices")
ingresses = _elsewhere("netlab.views.ingress", "ingresses")
ingressclasses = _elsewhere("netlab.views.ingress", "ingressclasses")
gatewayclasses = _elsewhere("netlab.views.ingress", "gatewayclasses")
gateways = _elsewhere("netlab.views.ingress", "gateways")
httproutes = _elsewhere("netlab.views.ingress", "httproutes")
referencegrants = _elsewhere("netlab.views.secrets", "referencegrants")
secrets = _elsewhere("netlab.views.secrets", "secrets")
configmaps = _elsewhere("netlab.views.secrets", "configmaps")
serviceaccounts = _elsewhere("netlab.views.rbac", "serviceaccounts")
roles = _elsewhere("netlab.views.rbac", "roles")
clusterroles = _elsewhere("netlab.views.rbac", "clusterroles")
rolebindings = _elsewhere("netlab.views.rbac", "rolebindings")
clusterrolebindings = _elsewhere("netlab.views.rbac", "clusterrolebindings")

VIEWS = {
    "Deployment": deployments, "ReplicaSet": replicasets, "StatefulSet": statefulsets, "Pod": pods,
    "Service": services, "Endpoints": endpoints, "Node": nodes, "Namespace": namespaces,
    "NetworkPolicy": networkpolicies, "EndpointSlice": endpointslices, "Ingress": ingresses,
    "IngressClass": ingressclasses, "GatewayClass": gatewayclasses, "Gateway": gateways, "HTTPRoute": httproutes,
    "ReferenceGrant": referencegrants, "Secret": secrets, "ConfigMap": configmaps,
    "ServiceAccount": serviceaccounts, "Role": roles, "ClusterRole": clusterroles,
    "RoleBinding": rolebindings, "ClusterRoleBinding": clusterrolebindings,
}  # fmt: skip


def view_for(resource: str):
    """(kind, view function) for a `get` argument in any of kubectl's spellings, or None."""
    info: KindInfo | None = lookup(resource)
    if info is None or info.kind not in VIEWS:
        return None
    return info, VIEWS[info.kind]
