"""`get` and `describe` for Ingress and IngressClass, with kubectl's columns and layout
(kubectl's printers: printIngress, printIngressClass; describe: IngressDescriber)."""

from __future__ import annotations

import time
from typing import Any

from netlab.api.ingress import Ingress, IngressBackend, IngressClass
from netlab.api.labels import Selector
from netlab.apiserver.state import Lab
from netlab.apiserver.store import StoredObject
from netlab.views.objects import age, metadata


def _select(objs: list[StoredObject], selector: Selector | None) -> list[StoredObject]:
    if selector is None:
        return objs
    return [o for o in objs if selector.matches((o.manifest.get("metadata") or {}).get("labels") or {})]


def addresses(o: StoredObject) -> list[str]:
    return [i["ip"] for i in (o.status.get("loadBalancer") or {}).get("ingress", []) if i.get("ip")]


def _hosts_text(ing: Ingress) -> str:
    hosts = [r.host for r in ing.spec.rules if r.host]
    if not hosts:
        return "*"
    if len(hosts) > 4:  # kubectl's formatHosts
        return ",".join(hosts[:4]) + f" + {len(hosts) - 4} more..."
    return ",".join(hosts)


def ingress_object(o: StoredObject) -> dict[str, Any]:
    ips = addresses(o)
    status = {"loadBalancer": {"ingress": [{"ip": ip} for ip in ips]} if ips else {}}
    return {**o.manifest, "metadata": metadata(o), "status": status}


def ingresses(lab: Lab, namespace: str | None, selector: Selector | None, wide: bool):
    now = time.time()
    rows, docs = [], []
    for o in _select(lab.store.list("Ingress", namespace), selector):
        ing = Ingress.model_validate(o.manifest)
        ports = "80, 443" if ing.spec.tls else "80"
        row = [o.name, ing.spec.ingressClassName or "<none>", _hosts_text(ing), ",".join(addresses(o)), ports, age(o.created, now)]
        rows.append(([o.namespace] if namespace is None else []) + row)
        docs.append(ingress_object(o))
    headers = ["NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"]
    return (["NAMESPACE"] + headers if namespace is None else headers), rows, docs


def ingressclasses(lab: Lab, namespace: str | None, selector: Selector | None, wide: bool):
    now = time.time()
    rows, docs = [], []
    for o in _select(lab.store.list("IngressClass"), selector):
        ic = IngressClass.model_validate(o.manifest)
        params = ic.spec.parameters
        rows.append([o.name, ic.spec.controller, f"{params.get('kind')}/{params.get('name')}" if params else "<none>", age(o.created, now)])
        docs.append({**o.manifest, "metadata": metadata(o)})
    return ["NAME", "CONTROLLER", "PARAMETERS", "AGE"], rows, docs


def _backend_text(services: list, namespace: str, backend: IngressBackend | None) -> str:
    """`cart:80 (10.244.1.5:8080,10.244.2.4:8080)`, as kubectl's describeBackend prints it."""
    from netlab.ingress.routes import backend_endpoints

    if backend is None or backend.service is None:
        return "<default>" if backend is None else "<resource>"
    svc = backend.service
    port = svc.port.name or svc.port.number
    found = backend_endpoints(namespace, backend, services)
    if found is None:
        return f"{svc.name}:{port} (<error: services \"{svc.name}\" not found>)"
    return f"{svc.name}:{port} ({','.join(found) or '<none>'})"


def describe_ingress(lab: Lab, o: StoredObject) -> list[str]:
    from netlab.controllers.endpoints import service_endpoints

    ing = Ingress.model_validate(o.manifest)
    services = service_endpoints(lab)
    labels = ",".join(f"{k}={v}" for k, v in ing.metadata.labels.items()) or "<none>"
    annotations = ",".join(f"{k}={v}" for k, v in ing.metadata.annotations.items()) or "<none>"
    lines = [
        f"{'Name:':<18}{o.name}",
        f"{'Labels:':<18}{labels}",
        f"{'Namespace:':<18}{o.namespace}",
        f"{'Address:':<18}{','.join(addresses(o))}",
        f"{'Ingress Class:':<18}{ing.spec.ingressClassName or '<none>'}",
        f"{'Default backend:':<18}{_backend_text(services, o.namespace, ing.spec.defaultBackend)}",
        "Rules:",
        "  Host          Path  Backends",
        "  ----          ----  --------",
    ]
    for rule in ing.spec.rules:
        lines.append(f"  {rule.host or '*'}")
        for p in rule.http.paths if rule.http else []:
            lines.append(f"  {'':<14}{p.path or '/':<6} {_backend_text(services, o.namespace, p.backend)}  {p.pathType}")
    lines.append(f"{'Annotations:':<18}{annotations}")
    return lines


def describe_ingressclass(lab: Lab, o: StoredObject) -> list[str]:
    ic = IngressClass.model_validate(o.manifest)
    annotations = ",".join(f"{k}={v}" for k, v in ic.metadata.annotations.items()) or "<none>"
    return [
        f"{'Name:':<14}{o.name}",
        f"{'Labels:':<14}{','.join(f'{k}={v}' for k, v in ic.metadata.labels.items()) or '<none>'}",
        f"{'Annotations:':<14}{annotations}",
        f"{'Controller:':<14}{ic.spec.controller}",
    ]


# --- Gateway API (the CRDs' additionalPrinterColumns) -------------------------------------------


def _condition(o: StoredObject, type_: str) -> str:
    found = next((c for c in o.status.get("conditions", []) if c.get("type") == type_), None)
    return found["status"] if found else "Unknown"


def gatewayclasses(lab: Lab, namespace: str | None, selector: Selector | None, wide: bool):
    now = time.time()
    rows, docs = [], []
    for o in _select(lab.store.list("GatewayClass"), selector):
        rows.append([o.name, o.manifest["spec"]["controllerName"], _condition(o, "Accepted"), age(o.created, now)])
        docs.append({**o.manifest, "metadata": metadata(o), "status": o.status})
    return ["NAME", "CONTROLLER", "ACCEPTED", "AGE"], rows, docs


def gateways(lab: Lab, namespace: str | None, selector: Selector | None, wide: bool):
    now = time.time()
    rows, docs = [], []
    for o in _select(lab.store.list("Gateway", namespace), selector):
        address = ",".join(a["value"] for a in o.status.get("addresses", []))
        row = [o.name, o.manifest["spec"]["gatewayClassName"], address, _condition(o, "Programmed"), age(o.created, now)]
        rows.append(([o.namespace] if namespace is None else []) + row)
        docs.append({**o.manifest, "metadata": metadata(o), "status": o.status})
    headers = ["NAME", "CLASS", "ADDRESS", "PROGRAMMED", "AGE"]
    return (["NAMESPACE"] + headers if namespace is None else headers), rows, docs


def httproutes(lab: Lab, namespace: str | None, selector: Selector | None, wide: bool):
    now = time.time()
    rows, docs = [], []
    for o in _select(lab.store.list("HTTPRoute", namespace), selector):
        hosts = (o.manifest.get("spec") or {}).get("hostnames") or []
        row = [o.name, ",".join(f'"{h}"' for h in hosts) and "[" + ",".join(f'"{h}"' for h in hosts) + "]", age(o.created, now)]
        rows.append(([o.namespace] if namespace is None else []) + row)
        docs.append({**o.manifest, "metadata": metadata(o), "status": o.status})
    headers = ["NAME", "HOSTNAMES", "AGE"]
    return (["NAMESPACE"] + headers if namespace is None else headers), rows, docs


def _conditions(conditions: list[dict]) -> list[str]:
    lines = ["    Type          Status  Reason                      Message"]
    for c in conditions:
        lines.append(f"    {c.get('type', ''):<14}{c.get('status', ''):<8}{c.get('reason', ''):<28}{c.get('message', '')}")
    return lines


def describe_gateway(lab: Lab, o: StoredObject) -> list[str]:
    spec = o.manifest["spec"]
    lines = [
        f"{'Name:':<14}{o.name}",
        f"{'Namespace:':<14}{o.namespace}",
        f"{'Class:':<14}{spec['gatewayClassName']}",
        f"{'Addresses:':<14}{','.join(a['value'] for a in o.status.get('addresses', [])) or '<none>'}",
        "Listeners:",
    ]
    for lst in spec["listeners"]:
        lines.append(f"  {lst['name']}: {lst['protocol']} port {lst['port']} hostname {lst.get('hostname', '*')}")
    lines.append("Conditions:")
    lines += _conditions(o.status.get("conditions", []))
    return lines


def describe_httproute(lab: Lab, o: StoredObject) -> list[str]:
    from netlab.api.gateway import HTTPRoute

    route = HTTPRoute.model_validate(o.manifest)
    lines = [
        f"{'Name:':<14}{o.name}",
        f"{'Namespace:':<14}{o.namespace}",
        f"{'Hostnames:':<14}{','.join(route.spec.hostnames) or '<any>'}",
        "Rules:",
    ]
    for i, rule in enumerate(route.spec.rules):
        matches = "; ".join(
            " ".join([f"{m.path.type} {m.path.value}"] + [f"header {h.name}={h.value}" for h in m.headers]
                     + [f"query {q.name}={q.value}" for q in m.queryParams] + ([f"method {m.method}"] if m.method else []))
            for m in rule.matches
        )
        backends = ", ".join(f"{b.name}:{b.port} weight {b.weight}" for b in rule.backendRefs) or "<none>"
        lines.append(f"  [{i}] {matches} -> {backends}")
    lines.append("Parents:")
    for parent in o.status.get("parents", []):
        ref = parent["parentRef"]
        lines.append(f"  {ref['kind']} {ref['namespace']}/{ref['name']}" + (f" ({ref['sectionName']})" if ref.get("sectionName") else ""))
        lines += _conditions(parent.get("conditions", []))
    return lines
