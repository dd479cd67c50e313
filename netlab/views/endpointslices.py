"""`get endpointslices`: discovery.k8s.io/v1 EndpointSlices, derived like the Endpoints
(the endpointslice controller's shape: one slice per Service, address family and set of target
ports, its `kubernetes.io/service-name` label, ready/serving/terminating conditions per
endpoint). A dual-stack Service has an `IPv4` and an `IPv6` slice, as upstream's controller
keeps one address type per slice."""

from __future__ import annotations

import hashlib
import time
from typing import TYPE_CHECKING, Any

from netlab.api.labels import Selector
from netlab.apiserver.endpoint import is_kubernetes_service
from netlab.apiserver.state import Lab
from netlab.views.objects import age, timestamp

if TYPE_CHECKING:
    from netlab.controllers.endpoints import ServiceEndpoints

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
MANAGED_BY = "endpointslice-controller.k8s.io"


def slice_name(service: str, ports: tuple, family: int = 4) -> str:
    # Upstream uses generateName (`web-` + 5 random characters); netlab derives the suffix so
    # the name is stable across reads (an IPv4 slice's name is what it was before dual-stack).
    digest = hashlib.sha256(f"{service}/{ports}{'/6' if family == 6 else ''}".encode()).hexdigest()
    alphabet = "bcdfghjklmnpqrstvwxz2456789"  # apimachinery's rand alphabet
    return f"{service}-" + "".join(alphabet[int(digest[i : i + 2], 16) % len(alphabet)] for i in range(0, 10, 2))


def slices_of(se: ServiceEndpoints) -> list[dict[str, Any]]:
    """The EndpointSlices of one Service (one even without endpoints, as upstream keeps)."""
    by_ports: dict[tuple, dict[str, Any]] = {}
    # Group backends by pod, then pods by the target ports they serve.
    pods: dict[str, dict[str, Any]] = {}
    for pe in se.ports:
        for b in pe.backends:
            entry = pods.setdefault(b.pod, {"backend": b, "ports": []})
            port = (pe.name, b.port, pe.protocol)
            if port not in entry["ports"]:
                entry["ports"].append(port)
    for entry in pods.values():
        key = tuple(entry["ports"])
        by_ports.setdefault(key, {"endpoints": []})["endpoints"].append(entry["backend"])
    if not by_ports:
        by_ports[()] = {"endpoints": []}
    meta_labels = {**((se.obj.manifest.get("metadata") or {}).get("labels") or {}), SERVICE_NAME_LABEL: se.obj.name, MANAGED_BY_LABEL: MANAGED_BY}
    result = []
    for ports, group in by_ports.items():
        endpoints = []
        for b in group["endpoints"]:
            endpoint: dict[str, Any] = {
                "addresses": [b.ip],
                "conditions": {"ready": b.ready, "serving": b.ready, "terminating": False},
            }
            if b.pod:  # the apiserver's own endpoint (default/kubernetes) is no pod
                ns, name = b.pod.split("/", 1)
                endpoint.update(nodeName=b.node, targetRef={"kind": "Pod", "namespace": ns, "name": name})
            if b.hostname:
                endpoint["hostname"] = b.hostname
            endpoints.append(endpoint)
        doc: dict[str, Any] = {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                # the apiserver names its own slice after the Service
                "name": se.obj.name if is_kubernetes_service(se.obj.namespace, se.obj.name) else slice_name(se.obj.name, ports, se.family),
                "namespace": se.obj.namespace,
                "labels": meta_labels,
                "ownerReferences": [{"apiVersion": "v1", "kind": "Service", "name": se.obj.name, "uid": se.obj.uid, "controller": True, "blockOwnerDeletion": True}],
                "creationTimestamp": timestamp(se.obj.created),
            },
            "addressType": "IPv6" if se.family == 6 else "IPv4",
            "endpoints": endpoints,
            "ports": [{"name": n, "port": p, "protocol": proto} for n, p, proto in ports] if ports else None,
        }
        result.append(doc)
    return result


def _ports_text(doc: dict[str, Any]) -> str:
    ports = doc.get("ports")
    if not ports:
        return "<unset>"
    return ",".join(str(p["port"]) for p in ports)


def _endpoints_text(doc: dict[str, Any]) -> str:
    addresses = [a for e in doc["endpoints"] for a in e["addresses"]]
    if not addresses:
        return "<unset>"
    if len(addresses) > 3:
        return ",".join(addresses[:3]) + f" + {len(addresses) - 3} more..."
    return ",".join(addresses)


def endpointslices(lab: Lab, namespace: str | None, selector: Selector | None, wide: bool):
    """kubectl's columns: NAME ADDRESSTYPE PORTS ENDPOINTS AGE."""
    from netlab.controllers.endpoints import service_endpoints

    now = time.time()
    rows, docs = [], []
    for se in service_endpoints(lab):
        if namespace is not None and se.obj.namespace != namespace:
            continue
        if not (se.service.spec.selector or any(pe.backends for pe in se.ports)):
            continue  # no selector: left to whoever manages them (the apiserver, for default/kubernetes)
        views = [view for family in se.families if (view := se.for_family(family)) is not None]
        for doc in (doc for view in views for doc in slices_of(view)):
            if selector is not None and not selector.matches(doc["metadata"]["labels"]):
                continue
            row = [doc["metadata"]["name"], doc["addressType"], _ports_text(doc), _endpoints_text(doc), age(se.obj.created, now)]
            rows.append(([se.obj.namespace] if namespace is None else []) + row)
            if doc["ports"] is None:
                del doc["ports"]
            docs.append(doc)
    headers = ["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"]
    return (["NAMESPACE"] + headers if namespace is None else headers), rows, docs
