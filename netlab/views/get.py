"""`netlab get`: rows for each kind, and the documents `-o json|yaml` prints.

Pure over the store plus process liveness; the CLI only formats what these return. A view
imports the models and controllers only it needs (endpoints, scheduler, workloads): `get pods`,
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
from netlab.kubelet.status import pod_ready, pod_state
from netlab.views.objects import age, metadata, pod_object, stored_pod, timestamp

if TYPE_CHECKING:
    from netlab.api.labels import Selector
    from netlab.api.workloads import Deployment
    from netlab.apiserver.state import Lab
    from netlab.apiserver.store import StoredObject
    from netlab.controllers.endpoints import ServiceEndpoints


def owner_of(obj: StoredObject) -> tuple[str, str] | None:
    from netlab.controllers.garbagecollector import owner_of

    return owner_of(obj)


def ingress_ips(status: dict[str, Any]):
    from netlab.metallb.controller import ingress_ips

    return ingress_ips(status)


def _select(objs: list[StoredObject], selector: Selector | None) -> list[StoredObject]:
    if selector is None:
        return objs
    return [o for o in objs if selector.matches((o.manifest.get("metadata") or {}).get("labels") or {})]


def pods(lab: Lab, namespace: str | None, selector: Selector | None, wide: bool) -> tuple[list[str], list[list[Any]], list[dict]]:
    now = time.time()
    headers = ["NAME", "READY", "STATUS", "RESTARTS", "AGE"] + (["IP", "NODE", "NOMINATED NODE", "READINESS GATES"] if wide else [])
    rows, docs = [], []
    for o in _select(lab.store.list("Pod", namespace), selector):
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
    keep = {o.key for o in _select(lab.store.list("Service", namespace), selector)}
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
    keep = {o.key for o in _select(lab.store.list("Service", namespace), selector)}
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
    for o in _select(lab.store.list("Namespace"), selector):
        rows.append([o.name, "Active", age(o.created, now)])
        docs.append({"apiVersion": "v1", "kind": "Namespace", "metadata": metadata(o), "status": {"phase": "Active"}})
    return ["NAME", "STATUS", "AGE"], rows, docs


def _owned_pods(lab: Lab, namespace: str, kind: str, name: str) -> list[StoredObject]:
    return [p for p in lab.store.list("Pod", namespace) if owner_of(p) == (kind, name)]


def _workload_doc(o: StoredObject, status: dict[str, Any]) -> dict[str, Any]:
    return {**o.manifest, "metadata": metadata(o), "status": status}


def deployments(lab: Lab, namespace: str | None, selector: Selector | None, wide: bool):
    from netlab.api.workloads import Deployment
    from netlab.controllers.deployment import REVISION_ANNOTATION, revision_of
    from netlab.controllers.workloads import HASH_LABEL, template_hash

    now = time.time()
    headers = ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"] + (["CONTAINERS", "IMAGES", "SELECTOR"] if wide else [])
    rows, docs = [], []
    for o in _select(lab.store.list("Deployment", namespace), selector):
        spec = o.manifest["spec"]
        want = spec.get("replicas", 1)
        current = template_hash(Deployment.model_validate(o.manifest).spec.template.to_dict())
        sets = [rs for rs in lab.store.list("ReplicaSet", o.namespace) if owner_of(rs) == ("Deployment", o.name)]
        pods = [p for rs in sets for p in _owned_pods(lab, o.namespace, "ReplicaSet", rs.name)]
        ready = sum(1 for p in pods if pod_ready(p.status))
        updated = sum(1 for p in pods if (p.manifest["metadata"].get("labels") or {}).get(HASH_LABEL) == current)
        row = [o.name, f"{ready}/{want}", updated, ready, age(o.created, now)]
        if wide:
            containers = spec["template"]["spec"]["containers"]
            row += [",".join(c["name"] for c in containers), ",".join(c["image"] for c in containers),
                    ",".join(f"{k}={v}" for k, v in spec["selector"].get("matchLabels", {}).items())]
        rows.append(([o.namespace] if namespace is None else []) + row)
        status = {"observedGeneration": 1, "replicas": len(pods), "readyReplicas": ready, "updatedReplicas": updated, "availableReplicas": ready}
        status["conditions"] = deployment_conditions(Deployment.model_validate(o.manifest), ready, updated, len(pods))
        doc = _workload_doc(o, status)
        if sets:  # the deployment controller's annotation: the newest revision
            annotations = {**(doc["metadata"].get("annotations") or {}), REVISION_ANNOTATION: str(max(revision_of(rs.manifest) for rs in sets))}
            doc["metadata"] = {**doc["metadata"], "annotations": annotations}
        docs.append(doc)
    if namespace is None:
        headers = ["NAMESPACE"] + headers
    return headers, rows, docs


def deployment_conditions(deploy: Deployment, available: int, updated: int, total: int) -> list[dict[str, str]]:
    """The deployment controller's Available and Progressing conditions (what `wait
    --for=condition=Available` reads): available when at most maxUnavailable replicas are not."""
    from netlab.controllers.workloads import resolve_int_or_percent

    want = deploy.spec.replicas
    rolling = deploy.spec.strategy.rollingUpdate if deploy.spec.strategy else None
    max_unavailable = 0
    if deploy.spec.strategy is None or deploy.spec.strategy.type == "RollingUpdate":
        max_unavailable = resolve_int_or_percent(rolling.maxUnavailable if rolling else "25%", want, round_up=False)
    is_available = available >= want - max_unavailable
    complete = updated == want and total == want and available == want
    return [
        {"type": "Available", "status": "True" if is_available else "False",
         "reason": "MinimumReplicasAvailable" if is_available else "MinimumReplicasUnavailable",
         "message": "Deployment has minimum availability." if is_available else "Deployment does not have minimum availability."},
        {"type": "Progressing", "status": "True",
         "reason": "NewReplicaSetAvailable" if complete else "ReplicaSetUpdated",
         "message": f'ReplicaSet "{deploy.metadata.name}" has successfully progressed.' if complete else f'ReplicaSet "{deploy.metadata.name}" is progressing.'},
    ]  # fmt: skip


def replicasets(lab: Lab, namespace: str | None, selector: Selector | None, wide: bool):
    now = time.time()
    headers = ["NAME", "DESIRED", "CURRENT", "READY", "AGE"] + (["CONTAINERS", "IMAGES", "SELECTOR"] if wide else [])
    rows, docs = [], []
    for o in _select(lab.store.list("ReplicaSet", namespace), selector):
        pods = _owned_pods(lab, o.namespace, "ReplicaSet", o.name)
        ready = sum(1 for p in pods if pod_ready(p.status))
        want = o.manifest["spec"].get("replicas", 1)
        row = [o.name, want, len(pods), ready, age(o.created, now)] + (_wide_workload(o.manifest["spec"], selector_too=True) if wide else [])
        rows.append(([o.namespace] if namespace is None else []) + row)
        docs.append(_workload_doc(o, {"replicas": len(pods), "readyReplicas": ready}))
    if namespace is None:
        headers = ["NAMESPACE"] + headers
    return headers, rows, docs


def statefulsets(lab: Lab, namespace: str | None, selector: Selector | None, wide: bool):
    now = time.time()
    headers = ["NAME", "READY", "AGE"] + (["CONTAINERS", "IMAGES"] if wide else [])
    rows, docs = [], []
    for o in _select(lab.store.list("StatefulSet", namespace), selector):
        pods = _owned_pods(lab, o.namespace, "StatefulSet", o.name)
        ready = sum(1 for p in pods if pod_ready(p.status))
        want = o.manifest["spec"].get("replicas", 1)
        row = [o.name, f"{ready}/{want}", age(o.created, now)] + (_wide_workload(o.manifest["spec"], selector_too=False) if wide else [])
        rows.append(([o.namespace] if namespace is None else []) + row)
        docs.append(_workload_doc(o, {"replicas": len(pods), "readyReplicas": ready}))
    if namespace is None:
        headers = ["NAMESPACE"] + headers
    return headers, rows, docs


def _wide_workload(spec: dict[str, Any], selector_too: bool) -> list[str]:
    """kubectl's -o wide columns of a workload: CONTAINERS, IMAGES (and SELECTOR)."""
    containers = spec["template"]["spec"]["containers"]
    cols = [",".join(c["name"] for c in containers), ",".join(c["image"] for c in containers)]
    if selector_too:
        cols.append(",".join(f"{k}={v}" for k, v in spec["selector"].get("matchLabels", {}).items()) or "<none>")
    return cols


def networkpolicies(lab: Lab, namespace: str | None, selector: Selector | None, wide: bool):
    """kubectl's columns for NetworkPolicy: NAME POD-SELECTOR AGE."""
    from netlab.api.networkpolicy import NetworkPolicy

    now = time.time()
    rows, docs = [], []
    for o in _select(lab.store.list("NetworkPolicy", namespace), selector):
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
