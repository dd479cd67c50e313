"""The second half of a trace to an ingress address: inside the controller pod, nginx's choice.

A connection to the LB IP ends, at layer 4, in an ingress-nginx (or NGINX Gateway Fabric)
controller pod. What happens next is HTTP: nginx picks a `server` by the Host header and a
`location` by the path (and an HTTPRoute's header/query matches), then proxies to one pod of the
rule's upstream — a new connection, from the controller pod's IP to the backend pod's IP and
target port. This module reads the routes snapshot the controller pod serves (the one its
nginx.conf is rendered from), asks `ingress.routes` for the choice nginx makes (the one copy of
that rule), names the Ingress or HTTPRoute rule, and traces the second connection with the same
path assembly as the first.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from netlab.apiserver.state import Lab, pod_model
from netlab.images import catalog
from netlab.ingress.routes import Location, Routes, Server, choose_location, choose_server
from netlab.kubelet.containers import INGRESS_NGINX_IMAGE, NGINX_GATEWAY_IMAGE
from netlab.trace import path
from netlab.trace.model import DELIVERED, REFUSED, Source, Step, Trace, World
from netlab.trace.walk import Packet


@dataclass(frozen=True)
class HttpRequest:
    host: str  # the Host header ("" : curl sends the address it connects to)
    path: str = "/"
    headers: tuple[tuple[str, str], ...] = ()


def _snapshot(lab: Lab, pod_ns: str, pod_name: str) -> tuple[str, str] | None:
    """(routes snapshot path, the kind its rules come from) when the pod runs a controller image."""
    from netlab.ingress.publish import gateway_routes_path

    obj = lab.store.get("Pod", pod_ns, pod_name)
    if obj is None:
        return None
    images = {catalog.image_path(c.image) for c in pod_model(obj).spec.containers}
    if INGRESS_NGINX_IMAGE in images:
        return lab.ingress_routes, "Ingress"
    if NGINX_GATEWAY_IMAGE in images:
        return gateway_routes_path(lab), "HTTPRoute"
    return None


def _rule_name(kind: str, server: Server, loc: Location) -> str:
    if kind == "HTTPRoute" and loc.upstream and "-rule" in loc.upstream:
        return f"HTTPRoute {loc.source} rule {loc.upstream.rsplit('-rule', 1)[1]}"
    if kind == "HTTPRoute":
        return f"HTTPRoute {loc.source}"
    host = server.host if server.host != "_" else "*"
    return f"Ingress {loc.source} ({host} {loc.path})"


def follow(lab: Lab, world: World, first: Trace, request: HttpRequest) -> Trace:
    """`first` extended through nginx when it was delivered to a controller pod; else unchanged."""
    if first.verdict != DELIVERED or not first.reached or not first.reached.startswith("pod ") or not first.endpoint:
        return first
    pod_ns, pod_name = first.reached.removeprefix("pod ").split("/", 1)
    found = _snapshot(lab, pod_ns, pod_name)
    if found is None:
        return first
    snapshot, kind = found
    ip, port = first.endpoint.rsplit(":", 1)
    place = world.pod_by_ip(ip)
    try:
        with open(snapshot) as f:
            routes = Routes.from_json(f.read())
    except (OSError, ValueError, KeyError):
        return _end(first, first.reached, f"no routes published yet ({snapshot})", REFUSED, "nginx has no configuration yet")
    where = f"pod {pod_ns}/{pod_name}"
    host = request.host or first.packet.dst
    server = choose_server(routes, int(port), host)
    if server is None or place is None:
        return _end(first, where, f"nginx :{port}", REFUSED, f"nginx has no server on port {port}")
    query = dict(part.split("=", 1) if "=" in part else (part, "") for part in request.path.partition("?")[2].split("&") if part)
    uri = request.path.partition("?")[0] or "/"
    loc = choose_location(server, uri, dict(request.headers), query)
    server_text = f"nginx server {'_ (default_server)' if server.host == '_' else server.host} :{server.port}"
    if server.certificate:
        server_text += " ssl"
    if loc is None or (loc.upstream is None and not (loc.filters and loc.filters.redirect)):
        status = loc.status if loc is not None else 404
        rule = f" ({_rule_name(kind, server, loc)})" if loc is not None and loc.source else ""
        return _end(first, where, server_text, DELIVERED, f"nginx answers {status} itself{rule}: no backend is used")
    location = f"location {'= ' if loc.match == 'exact' else ''}{loc.path}"
    if loc.filters is not None and loc.filters.redirect is not None:
        return _end(first, where, f"{server_text}, {location}", DELIVERED,
                    f"{_rule_name(kind, server, loc)}: RequestRedirect — nginx answers {loc.filters.redirect[3]} itself")
    upstream = next((u for u in routes.upstreams if u.name == loc.upstream), None)
    if upstream is None or not upstream.endpoints:
        return _end(first, where, f"{server_text}, {location}", REFUSED, f"upstream {loc.upstream} has no endpoints")
    chosen = upstream.endpoints[0]
    details = tuple(f"upstream {upstream.name}: {ep}" + (f" weight {w}" if upstream.weights else "")
                    for ep, w in zip(upstream.endpoints, upstream.weights or (1,) * len(upstream.endpoints)))
    step = Step(
        "ingress", where, f"{server_text}, {location} (Host: {host}, path {uri})",
        f"{_rule_name(kind, server, loc)} → upstream {upstream.name}; nginx balances over {len(upstream.endpoints)} "
        f"pod(s), the trace follows {chosen}: a new connection from {place.ip}",
        details, {"rule": _rule_name(kind, server, loc), "upstream": upstream.name, "endpoints": list(upstream.endpoints)},
    )
    backend_ip, backend_port = chosen.rsplit(":", 1)
    source = Source("pod", f"pod {place.ref}", place.ip, place.netns, place.node, place)
    second = path.trace(world, source, Packet(place.ip, backend_ip, "tcp", int(backend_port)), chosen)
    return replace(first, steps=first.steps + (step,) + second.steps, verdict=second.verdict, reason=second.reason,
                   endpoint=chosen, reached=second.reached)


def _end(first: Trace, where: str, obj: str, verdict: str, reason: str) -> Trace:
    step = Step("ingress", where, obj, reason)
    return replace(first, steps=first.steps + (step,), verdict=verdict, reason=reason)
