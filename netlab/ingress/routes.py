"""Ingress objects + Services' endpoints -> the routing table an nginx controller serves (pure).

What ingress-nginx's store and `getBackendServers` compute before the template runs: one
server per host (rules without a host go to the catch-all server `_`), its locations in
the order nginx will weigh them, and one upstream per Service port whose members are the
ready endpoint pod IP:targetPort pairs (ingress-nginx proxies to endpoints directly, not to
the ClusterIP, so kube-proxy is not on the path from nginx to the pod).

Semantics kept from the Ingress spec (networking/v1 HTTPIngressPath):
- Exact matches the path exactly; Prefix matches element-wise: `/foo` matches `/foo`,
  `/foo/` and `/foo/bar` but not `/foobar`, and a trailing slash in the rule is ignored;
  ImplementationSpecific is ingress-nginx's plain nginx prefix (`/foo` matches `/foobar`).
- The longest match wins and Exact beats Prefix on the same path (nginx's `location =`).
- A host `*.example` matches exactly one label (`a.example`, not `a.b.example`), and an
  exact host is preferred to a wildcard (nginx weighs exact names before regex names).
- Nothing matches: the Ingress's `defaultBackend`, or 404.
- `tls:` hosts whose Secret (kubernetes.io/tls, in the Ingress's namespace) exists are also
  served on 443 with its certificate; a missing Secret leaves that host on plain HTTP.
- Which Ingresses: those whose class (spec.ingressClassName, or the class annotated
  `ingressclass.kubernetes.io/is-default-class: "true"` when none is named) has the
  controller `k8s.io/ingress-nginx`. When the same host and path come from two Ingresses,
  the older one wins (ingress-nginx's merge order).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

from netlab.api.ingress import NGINX_CONTROLLER, Ingress, IngressBackend, IngressClass
from netlab.controllers.endpoints import ServiceEndpoints
from netlab.ingress.filters import Filters

CATCH_ALL = "_"
HTTPS_PORT = 443


@dataclass(frozen=True)
class Location:
    match: str  # "exact" (location = P) or "prefix" (location P)
    path: str
    upstream: str | None  # None: answer `status` instead
    status: int  # 0 when proxied; 503 (no endpoints, no Service), 404 (nothing matches)
    source: str  # "namespace/name" of the Ingress the rule came from; "" for the 404
    # HTTPRoute matches beyond the path, all of which must hold: ("header", name, value),
    # ("query", name, value), ("method", "", GET). Several Locations may share a path and
    # differ here; they are listed in the order of precedence, highest first.
    when: tuple[tuple[str, str, str], ...] = ()
    filters: Filters | None = None  # the HTTPRoute rule's RequestHeaderModifier/RequestRedirect/URLRewrite


@dataclass(frozen=True)
class Server:
    host: str  # "shop.example", "*.example", or "_" for the catch-all
    locations: tuple[Location, ...]
    port: int = 80
    certificate: str = ""  # TLS: the path of the PEM files without extension (.crt, .key); "" for plain HTTP


@dataclass(frozen=True)
class Upstream:
    name: str  # ingress-nginx's: namespace-service-port
    endpoints: tuple[str, ...]  # "10.244.1.5:8080"
    weights: tuple[int, ...] = ()  # per endpoint, for HTTPRoute's weighted backendRefs


@dataclass(frozen=True)
class Routes:
    servers: tuple[Server, ...]
    upstreams: tuple[Upstream, ...]
    ingresses: tuple[str, ...]  # "namespace/name" of every Ingress served

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Routes:
        data = json.loads(text)
        return cls(
            servers=tuple(
                Server(s["host"], tuple(_location(loc) for loc in s["locations"]), s.get("port", 80), s.get("certificate", "")) for s in data["servers"]
            ),
            upstreams=tuple(Upstream(u["name"], tuple(u["endpoints"]), tuple(u.get("weights", ()))) for u in data["upstreams"]),
            ingresses=tuple(data["ingresses"]),
        )


_LOCATION_FIELDS = frozenset(Location.__dataclass_fields__)


def _location(data: dict) -> Location:
    # Fields a newer control plane added are left out, so a controller pod started by an older
    # netlab keeps reading the snapshot across an upgrade (it is adopted, not restarted).
    known = {k: v for k, v in data.items() if k in _LOCATION_FIELDS}
    return Location(**{**known, "when": tuple(tuple(c) for c in known.get("when", ())),
                       "filters": Filters.from_dict(known.get("filters"))})


@dataclass(frozen=True)
class IngressInput:
    """One stored Ingress, in the merge order (oldest first)."""

    ingress: Ingress
    created: float


def served_by_nginx(ingress: Ingress, classes: Sequence[IngressClass]) -> bool:
    by_name = {c.metadata.name: c for c in classes}
    name = ingress.spec.ingressClassName
    if name is None:
        default = [c for c in classes if c.is_default]
        return len(default) == 1 and default[0].spec.controller == NGINX_CONTROLLER
    return name in by_name and by_name[name].spec.controller == NGINX_CONTROLLER


def backend_endpoints(namespace: str, backend: IngressBackend, services: Sequence[ServiceEndpoints]) -> list[str] | None:
    """The ready `ip:targetPort` members for a Service backend; None if the Service or its port
    does not exist."""
    if backend.service is None:
        return None
    svc, want = backend.service, backend.service.port
    se = next((s for s in services if (s.obj.namespace, s.obj.name) == (namespace, svc.name)), None)
    if se is None:
        return None
    pe = next((p for p in se.ports if (want.name and p.name == want.name) or (want.number is not None and p.port == want.number)), None)
    if pe is None or pe.protocol != "TCP":
        return None
    return list(dict.fromkeys(f"{b.ip}:{b.port}" for b in pe.backends if b.ready))


def _upstream_name(namespace: str, backend: IngressBackend) -> str:
    svc = backend.service
    assert svc is not None
    return f"{namespace}-{svc.name}-{svc.port.name or svc.port.number}"


class _Builder:
    def __init__(self, services: Sequence[ServiceEndpoints]) -> None:
        self.services = services
        self.upstreams: dict[str, Upstream] = {}
        self.servers: dict[str, dict[tuple[str, str], Location]] = {}

    def target(self, namespace: str, backend: IngressBackend) -> tuple[str | None, int]:
        members = backend_endpoints(namespace, backend, self.services)
        if not members:
            return None, 503  # ingress-nginx answers 503 for a backend without endpoints
        name = _upstream_name(namespace, backend)
        self.upstreams[name] = Upstream(name, tuple(members))
        return name, 0

    def add(self, host: str, match: str, path: str, namespace: str, backend: IngressBackend, source: str) -> None:
        locations = self.servers.setdefault(host, {})
        if (match, path) in locations:
            return  # an older Ingress (or an Exact rule) already has it
        upstream, status = self.target(namespace, backend)
        locations[(match, path)] = Location(match, path, upstream, status, source)


_ORDER = {"Exact": 0, "Prefix": 1, "ImplementationSpecific": 2}


def tls_hosts(served: Sequence[IngressInput], certs: Mapping[tuple[str, str], str]) -> dict[str, str]:
    """host -> certificate for the `tls:` entries whose Secret resolved; the older Ingress wins."""
    hosts: dict[str, str] = {}
    for item in served:
        ing = item.ingress
        for tls in ing.spec.tls or []:
            cert = certs.get((ing.metadata.namespace or "default", tls.secretName or ""))
            for host in tls.hosts if cert else []:
                hosts.setdefault(host, cert)
    return hosts


def build_routes(ingresses: Sequence[IngressInput], classes: Sequence[IngressClass], services: Sequence[ServiceEndpoints],
                 certs: Mapping[tuple[str, str], str] = {}) -> Routes:
    served = sorted(
        (i for i in ingresses if served_by_nginx(i.ingress, classes)),
        key=lambda i: (i.created, i.ingress.metadata.namespace or "", i.ingress.metadata.name),
    )
    b = _Builder(services)
    b.servers[CATCH_ALL] = {}
    fallbacks: dict[str, tuple[str, IngressBackend, str]] = {}
    global_default: tuple[str, IngressBackend, str] | None = None
    for item in served:
        ing = item.ingress
        namespace = ing.metadata.namespace or "default"
        source = f"{namespace}/{ing.metadata.name}"
        default = (namespace, ing.spec.defaultBackend, source) if ing.spec.defaultBackend else None
        if default and global_default is None:
            global_default = default
        paths = [
            (rule.host or CATCH_ALL, p)
            for rule in ing.spec.rules if rule.http
            for p in rule.http.paths
        ]
        for host, _ in paths:
            b.servers.setdefault(host, {})
            if default and host not in fallbacks:
                fallbacks[host] = default
        for host, p in sorted(paths, key=lambda hp: _ORDER.get(hp[1].pathType or "", 3)):
            path = p.path or "/"
            if p.pathType == "Exact":
                b.add(host, "exact", path, namespace, p.backend, source)
            elif p.pathType == "Prefix":
                trimmed = path.rstrip("/")
                if not trimmed:
                    b.add(host, "prefix", "/", namespace, p.backend, source)
                else:
                    b.add(host, "exact", trimmed, namespace, p.backend, source)
                    b.add(host, "prefix", trimmed + "/", namespace, p.backend, source)
            else:
                b.add(host, "prefix", path, namespace, p.backend, source)
    servers = []
    for host, locations in b.servers.items():
        if ("prefix", "/") not in locations:
            fallback = fallbacks.get(host, global_default)
            if fallback is not None and fallback[1].service is not None:
                upstream, status = b.target(fallback[0], fallback[1])
                locations[("prefix", "/")] = Location("prefix", "/", upstream, status, fallback[2])
            else:
                locations[("prefix", "/")] = Location("prefix", "/", None, 404, "")
        ordered = sorted(locations.values(), key=lambda loc: (loc.match != "exact", -len(loc.path), loc.path))
        servers.append(Server(host, tuple(ordered)))
    # TLS: the hosts of `tls:` entries are served on 443 too, with the same locations; the
    # catch-all there shows the first certificate (ingress-nginx shows its fake default one).
    secure = tls_hosts(served, certs)
    servers += [Server(srv.host, srv.locations, HTTPS_PORT, secure[srv.host]) for srv in list(servers) if srv.host in secure]
    if secure:
        catch_all = next(srv for srv in servers if srv.host == CATCH_ALL)
        servers.append(Server(CATCH_ALL, catch_all.locations, HTTPS_PORT, next(iter(secure.values()))))
    servers.sort(key=lambda s: (s.port, s.host != CATCH_ALL, s.host.startswith("*."), s.host))
    return Routes(
        servers=tuple(servers),
        upstreams=tuple(sorted(b.upstreams.values(), key=lambda u: u.name)),
        ingresses=tuple(f"{i.ingress.metadata.namespace}/{i.ingress.metadata.name}" for i in served),
    )


# --- the request's way through the table (nginx's own choice, for `netlab trace`) ---------------


def _host_matches(server_host: str, host: str) -> bool:
    if server_host.startswith("*."):
        suffix = server_host[1:]
        return host.endswith(suffix) and "." not in host[: -len(suffix)] and len(host) > len(suffix)
    return server_host == host


def choose_server(routes: Routes, port: int, host: str) -> Server | None:
    """nginx's server choice among those listening on `port`: the exact name, then the wildcard
    (render.py writes `*.x` as a one-label regex), then the catch-all default_server."""
    host = host.lower().rsplit(":", 1)[0] if not host.startswith("[") else host.lower()
    on_port = [s for s in routes.servers if s.port == port]
    for wanted in (lambda s: s.host == host, lambda s: s.host.startswith("*.") and _host_matches(s.host, host),
                   lambda s: s.host == CATCH_ALL):
        found = next((s for s in on_port if wanted(s)), None)
        if found is not None:
            return found
    return None


def _holds(when: tuple[tuple[str, str, str], ...], headers: Mapping[str, str], query: Mapping[str, str], method: str) -> bool:
    lowered = {k.lower(): v for k, v in headers.items()}
    for kind, name, value in when:
        got = lowered.get(name.lower()) if kind == "header" else query.get(name) if kind == "query" else method
        if got != value:
            return False
    return True


def choose_location(server: Server, path: str, headers: Mapping[str, str] = {}, query: Mapping[str, str] = {},
                    method: str = "GET") -> Location | None:
    """nginx's location choice (`location = P` first, else the longest prefix), then, among the
    HTTPRoute candidates sharing it, the first in precedence whose matches all hold (what the
    `if` chain render.py writes computes). None: nginx answers 404."""
    exact = [loc for loc in server.locations if loc.match == "exact" and loc.path == path]
    if exact:
        group = exact
    else:
        prefixes = [loc for loc in server.locations if loc.match == "prefix" and path.startswith(loc.path)]
        if not prefixes:
            return None
        longest = max(len(loc.path) for loc in prefixes)
        group = [loc for loc in prefixes if len(loc.path) == longest]
    return next((loc for loc in group if _holds(loc.when, headers, query, method)), None)
