"""Gateway API objects + endpoints -> the routes an nginx data plane serves, and the status the
controller writes back (pure).

The core HTTP profile as the spec (gateway-api.sigs.k8s.io, "HTTPRoute" and "Gateway") defines
it, in the shape NGINX Gateway Fabric gives it:
- A Gateway of a GatewayClass whose controllerName is ours is served; each HTTP listener is an
  nginx `server` per hostname on the listener's port.
- An HTTPRoute attaches through `parentRefs` (a Gateway, optionally one listener by
  `sectionName`/`port`), only from the Gateway's own namespace unless the listener's
  `allowedRoutes.namespaces.from` is `All` (the default is `Same`). Its hostnames are
  intersected with the listener's (`*.example.com` ∩ `foo.example.com` = `foo.example.com`);
  no overlap, no attachment.
- Matches: path `Exact` or `PathPrefix` (element-wise, like Ingress's Prefix), and all of the
  match's headers, query parameters and method. Among matches of one path the precedence is:
  method, then the most header matches, then the most query matches, then the oldest route,
  then the route's name, then rule order.
- backendRefs: the traffic is split by `weight` over many requests (nginx's weighted round
  robin over the backend pods, each Service's weight shared by its ready pods). A backend
  that is not found, or in another namespace without a ReferenceGrant there allowing
  HTTPRoutes of the route's namespace (RefNotPermitted), makes the route's ResolvedRefs
  False; that backend is not used, and a rule left with none answers 500, as the spec says.
- HTTPS listeners terminate TLS with the first `certificateRefs` Secret (kubernetes.io/tls,
  from another namespace only with a ReferenceGrant); a listener whose certificate does not
  resolve is not programmed (status.listeners[] says why) and the others keep serving.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from netlab.api.gateway import (
    GROUP,
    NGINX_GATEWAY_CONTROLLER,
    Gateway,
    GatewayClass,
    HTTPRoute,
    HTTPRouteMatch,
    Listener,
    listener_tls,
)
from netlab.api.referencegrant import ReferenceGrant
from netlab.controllers.endpoints import ServiceEndpoints
from netlab.ingress.filters import from_rule
from netlab.ingress.routes import CATCH_ALL, Location, Routes, Server, Upstream


@dataclass(frozen=True)
class Stored:
    obj: Any  # Gateway or HTTPRoute
    created: float


@dataclass
class Result:
    routes: Routes
    route_status: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)  # (ns, name) -> parents
    gateways: tuple[tuple[str, str], ...] = ()  # the Gateways served
    listener_status: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)  # (ns, name) -> listeners


def _listener_status(listener: Listener, resolved: dict[str, Any], attached: int) -> dict[str, Any]:
    """status.listeners[]: Accepted, ResolvedRefs and Programmed, and how many routes attach."""
    ok = resolved["status"] == "True"
    return {
        "name": listener.name,
        "supportedKinds": [{"group": GROUP, "kind": "HTTPRoute"}],
        "attachedRoutes": attached,
        "conditions": [
            _condition("Accepted", True, "Accepted"),
            resolved,
            _condition("Programmed", ok, "Programmed" if ok else "Invalid", "" if ok else resolved["message"]),
        ],
    }


def _condition(type_: str, ok: bool, reason: str, message: str = "") -> dict[str, Any]:
    return {"type": type_, "status": "True" if ok else "False", "reason": reason, "message": message}


def intersect(route_host: str | None, listener_host: str | None) -> str | None:
    """The hostname both allow, the more specific of the two; None when they do not overlap."""
    if listener_host is None:
        return route_host or CATCH_ALL
    if route_host is None:
        return listener_host
    if route_host == listener_host:
        return route_host
    if listener_host.startswith("*.") and route_host.endswith(listener_host[1:]) and not route_host.startswith("*."):
        return route_host
    if route_host.startswith("*.") and listener_host.endswith(route_host[1:]) and not listener_host.startswith("*."):
        return listener_host
    if route_host.startswith("*.") and listener_host.startswith("*."):
        if route_host.endswith(listener_host[1:]):
            return route_host
        if listener_host.endswith(route_host[1:]):
            return listener_host
    return None


def _weighted_members(backends: list[tuple[int, list[str]]]) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """Each backend's weight shared by its pods, as integer nginx weights."""
    live = [(w, members) for w, members in backends if w > 0 and members]
    if not live:
        return (), ()
    lcm = math.lcm(*(len(m) for _, m in live))
    pairs = [(ep, w * lcm // len(members)) for w, members in live for ep in members]
    divisor = math.gcd(*(w for _, w in pairs))
    return tuple(ep for ep, _ in pairs), tuple(w // divisor for _, w in pairs)


def _members(namespace: str, name: str, port: int, services: Sequence[ServiceEndpoints]) -> list[str] | None:
    se = next((s for s in services if (s.obj.namespace, s.obj.name) == (namespace, name)), None)
    if se is None:
        return None
    pe = next((p for p in se.ports if p.port == port and p.protocol == "TCP"), None)
    if pe is None:
        return None
    return list(dict.fromkeys(f"{b.ip}:{b.port}" for b in pe.backends if b.ready))


def _precedence(loc_when: tuple, created: float, source: str, rule: int) -> tuple:
    methods = sum(1 for c in loc_when if c[0] == "method")
    headers = sum(1 for c in loc_when if c[0] == "header")
    queries = sum(1 for c in loc_when if c[0] == "query")
    return (-methods, -headers, -queries, created, source, rule)


def _listeners(gw: Gateway, ref) -> list[Listener]:
    return [
        lst for lst in gw.spec.listeners
        if (ref.sectionName is None or lst.name == ref.sectionName) and (ref.port is None or lst.port == ref.port)
    ]


def _allowed(listener: Listener, route_ns: str, gw_ns: str) -> bool:
    allowed = ((listener.allowedRoutes or {}).get("namespaces") or {}).get("from", "Same")
    return allowed == "All" or route_ns == gw_ns


def granted(grants: Sequence[ReferenceGrant], from_kind: str, from_ns: str, to_kind: str, to_ns: str, to_name: str) -> bool:
    """A reference across namespaces is allowed by a ReferenceGrant in the target's namespace."""
    to_group = ""  # Service and Secret are core
    return any(g.metadata.namespace == to_ns and g.allows(GROUP, from_kind, from_ns, to_group, to_kind, to_name) for g in grants)


def listener_certificate(gw_ns: str, listener: Listener, certs: Mapping[tuple[str, str], str],
                         grants: Sequence[ReferenceGrant]) -> tuple[str, dict[str, Any]]:
    """(the PEM path prefix nginx loads, the listener's ResolvedRefs condition)."""
    if listener.protocol != "HTTPS":
        return "", _condition("ResolvedRefs", True, "ResolvedRefs")
    for ref in listener_tls(listener).certificateRefs[:1]:  # NGINX Gateway Fabric serves the first
        ns = ref.namespace or gw_ns
        if (ref.group, ref.kind) != ("", "Secret"):
            return "", _condition("ResolvedRefs", False, "InvalidCertificateRef", f"{ref.kind} is not a Secret")
        if ns != gw_ns and not granted(grants, "Gateway", gw_ns, "Secret", ns, ref.name):
            return "", _condition("ResolvedRefs", False, "RefNotPermitted",
                                  f"Secret {ns}/{ref.name} is in another namespace and no ReferenceGrant allows it")
        if (ns, ref.name) not in certs:
            return "", _condition("ResolvedRefs", False, "InvalidCertificateRef",
                                  f'Secret "{ns}/{ref.name}" does not exist or is not of type kubernetes.io/tls')
        return certs[(ns, ref.name)], _condition("ResolvedRefs", True, "ResolvedRefs")
    return "", _condition("ResolvedRefs", False, "InvalidCertificateRef", "no certificateRefs")


def build_gateway_routes(
    classes: Sequence[GatewayClass], gateways: Sequence[Stored], routes: Sequence[Stored], services: Sequence[ServiceEndpoints],
    grants: Sequence[ReferenceGrant] = (), certs: Mapping[tuple[str, str], str] = {},
) -> Result:
    ours = {c.metadata.name for c in classes if c.spec.controllerName == NGINX_GATEWAY_CONTROLLER}
    served = {(g.obj.metadata.namespace, g.obj.metadata.name): g.obj for g in gateways if g.obj.spec.gatewayClassName in ours}
    result = Result(routes=Routes((), (), ()), gateways=tuple(sorted(served)))
    upstreams: dict[str, Upstream] = {}
    # (port, host) -> [(precedence, Location)]
    table: dict[tuple[int, str], list[tuple[tuple, Location]]] = {}
    certificate: dict[tuple[int, str], str] = {}  # (port, host) -> the HTTPS listener's certificate
    resolved_listener: dict[tuple[str, str, str], dict[str, Any]] = {}
    listener_cert: dict[tuple[str, str, str], str] = {}
    attached_routes: dict[tuple[str, str, str], set[str]] = {}
    for (gw_ns, gw_name), gw in served.items():
        for lst in gw.spec.listeners:
            cert, condition = listener_certificate(gw_ns, lst, certs, grants)
            resolved_listener[(gw_ns, gw_name, lst.name)] = condition
            attached_routes[(gw_ns, gw_name, lst.name)] = set()
            if condition["status"] != "True":
                continue  # not programmed: nginx does not listen for it
            listener_cert[(gw_ns, gw_name, lst.name)] = cert
            if cert:
                certificate.setdefault((lst.port, CATCH_ALL), cert)
            table.setdefault((lst.port, CATCH_ALL), [])
    ordered = sorted(routes, key=lambda r: (r.created, r.obj.metadata.namespace, r.obj.metadata.name))
    for item in ordered:
        route: HTTPRoute = item.obj
        ns, name = route.metadata.namespace or "default", route.metadata.name
        source = f"{ns}/{name}"
        parents = []
        attached: list[tuple[int, str]] = []
        for ref in route.spec.parentRefs:
            gw_ns = ref.namespace or ns
            gw = served.get((gw_ns, ref.name)) if (ref.group, ref.kind) == (GROUP, "Gateway") else None
            ref_dict = {"group": ref.group, "kind": ref.kind, "namespace": gw_ns, "name": ref.name,
                        **({"sectionName": ref.sectionName} if ref.sectionName else {})}
            if gw is None:
                accepted = _condition("Accepted", False, "NoMatchingParent", f"no Gateway {gw_ns}/{ref.name} of this controller")
            else:
                listeners = _listeners(gw, ref)
                allowed = [lst for lst in listeners if _allowed(lst, ns, gw_ns)]
                hosts = []
                for lst in allowed:
                    for h in [intersect(rh, lst.hostname) for rh in route.spec.hostnames] or [intersect(None, lst.hostname)]:
                        if h is not None:
                            attached_routes[(gw_ns, ref.name, lst.name)].add(source)
                            if resolved_listener[(gw_ns, ref.name, lst.name)]["status"] == "True":
                                hosts.append((lst.port, h))
                                if listener_cert[(gw_ns, ref.name, lst.name)]:
                                    certificate.setdefault((lst.port, h), listener_cert[(gw_ns, ref.name, lst.name)])
                if not listeners:
                    accepted = _condition("Accepted", False, "NoMatchingParent", "no listener matches sectionName/port")
                elif not allowed:
                    accepted = _condition("Accepted", False, "NotAllowedByListeners", "the listener does not allow routes from this namespace")
                elif not any(source in attached_routes[(gw_ns, ref.name, lst.name)] for lst in allowed):
                    accepted = _condition("Accepted", False, "NoMatchingListenerHostname", "no hostname overlaps the listener's")
                else:
                    accepted = _condition("Accepted", True, "Accepted")
                    attached += hosts
            parents.append({"parentRef": ref_dict, "controllerName": NGINX_GATEWAY_CONTROLLER, "conditions": [accepted]})
        resolved = _condition("ResolvedRefs", True, "ResolvedRefs")
        rule_targets: list[tuple[str | None, int]] = []
        for r_index, rule in enumerate(route.spec.rules):
            backends: list[tuple[int, list[str]]] = []
            broken = False
            for ref in rule.backendRefs:
                if (ref.group, ref.kind) != ("", "Service"):
                    resolved = _condition("ResolvedRefs", False, "InvalidKind", f"{ref.kind} is not a Service")
                    broken = True
                    continue
                backend_ns = ref.namespace or ns
                if backend_ns != ns and not granted(grants, "HTTPRoute", ns, "Service", backend_ns, ref.name):
                    resolved = _condition("ResolvedRefs", False, "RefNotPermitted",
                                          f"backend {backend_ns}/{ref.name} is in another namespace and no ReferenceGrant allows it")
                    broken = True
                    continue
                members = _members(backend_ns, ref.name, ref.port or 0, services)
                if members is None:
                    resolved = _condition("ResolvedRefs", False, "BackendNotFound",
                                          f'service "{backend_ns}/{ref.name}" port {ref.port} not found')
                    broken = True
                    continue
                backends.append((ref.weight, members))
            endpoints, weights = _weighted_members(backends)
            if rule.filter("RequestRedirect") is not None:
                rule_targets.append((None, 0))  # the redirect answers; backends are not used
            elif broken and not endpoints or not rule.backendRefs:
                rule_targets.append((None, 500))
            elif not endpoints:
                rule_targets.append((None, 503))
            else:
                up = Upstream(f"{ns}-{name}-rule{r_index}", endpoints, weights)
                upstreams[up.name] = up
                rule_targets.append((up.name, 0))
        for p in parents:
            p["conditions"].append(dict(resolved))
        result.route_status[(ns, name)] = parents
        for port, host in dict.fromkeys(attached):
            entries = table.setdefault((port, host), [])
            table.setdefault((port, CATCH_ALL), [])
            for r_index, rule in enumerate(route.spec.rules):
                upstream, status = rule_targets[r_index]
                filters = from_rule(rule)
                for m in rule.matches or [HTTPRouteMatch()]:  # no matches: PathPrefix / (the spec's default)
                    when = tuple(("header", h.name, h.value) for h in m.headers)
                    when += tuple(("query", q.name, q.value) for q in m.queryParams)
                    when += (("method", "", m.method),) if m.method else ()
                    prec = _precedence(when, item.created, source, r_index)
                    for match, path in _paths(m.path.type, m.path.value):
                        entries.append((prec, Location(match, path, upstream, status, source, when, filters)))
    servers = []
    for (port, host), entries in table.items():
        seen: set[tuple] = set()
        locations = []
        for _, loc in sorted(entries, key=lambda e: e[0]):
            key = (loc.match, loc.path, loc.when)
            if key not in seen:
                seen.add(key)
                locations.append(loc)
        if not any(loc.match == "prefix" and loc.path == "/" and not loc.when for loc in locations):
            locations.append(Location("prefix", "/", None, 404, ""))
        locations.sort(key=lambda loc: (loc.match != "exact", -len(loc.path), loc.path))  # stable: precedence kept
        servers.append(Server(host, tuple(locations), port, certificate.get((port, host), certificate.get((port, CATCH_ALL), ""))))
    servers.sort(key=lambda s: (s.port, s.host != CATCH_ALL, s.host.startswith("*."), s.host))
    for (gw_ns, gw_name), gw in served.items():
        result.listener_status[(gw_ns, gw_name)] = [
            _listener_status(lst, resolved_listener[(gw_ns, gw_name, lst.name)], len(attached_routes[(gw_ns, gw_name, lst.name)]))
            for lst in gw.spec.listeners
        ]
    result.routes = Routes(tuple(servers), tuple(sorted(upstreams.values(), key=lambda u: u.name)),
                           tuple(f"{ns}/{n}" for ns, n in result.route_status))
    return result


def _paths(kind: str, value: str) -> list[tuple[str, str]]:
    if kind == "Exact":
        return [("exact", value)]
    trimmed = value.rstrip("/")
    return [("prefix", "/")] if not trimmed else [("exact", trimmed), ("prefix", trimmed + "/")]
