"""gateway.networking.k8s.io/v1 GatewayClass, Gateway and HTTPRoute (the core HTTP profile),
with the defaults and checks of the Gateway API CRDs' own schema (OpenAPI patterns, defaults
and CEL rules in config/crd/standard/*.yaml): a match without a path is `PathPrefix /`, a
backendRef's weight defaults to 1, a Service backendRef needs a port, listener names are
unique, an HTTPS listener has `tls` (Terminate, with certificateRefs). The rules' filters are
in gateway_filters.py; the extended ones are kept and warned about.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Literal

from pydantic import StrictInt, StrictStr, model_validator

from netlab.api import names
from netlab.api.field import ProblemList, duplicate_value, invalid_value, required_value, unsupported_value
from netlab.api.gateway_filters import HTTPRouteFilter, path_char_errors, rule_filter_problems
from netlab.api.meta import ApiModel, ObjectMeta

API_VERSION = "gateway.networking.k8s.io/v1"
GROUP = "gateway.networking.k8s.io"
# The controller netlab runs for GatewayClasses (NGINX Gateway Fabric's name).
NGINX_GATEWAY_CONTROLLER = "gateway.nginx.org/nginx-gateway-controller"
PROTOCOLS = ("HTTP", "HTTPS", "TLS", "TCP", "UDP")
PATH_MATCH_TYPES = ("Exact", "PathPrefix", "RegularExpression")
_CONTROLLER = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/[A-Za-z0-9/\-._~%!$&'()*+,;=:]+$")
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$")


def hostname_errors(host: str) -> list[str]:
    """Gateway API's Hostname: a DNS name, optionally `*.` + one; not an IP address."""
    try:
        ipaddress.ip_address(host)
        return ["must be a DNS name, not an IP address"]
    except ValueError:
        pass
    errors = names.dns1123_subdomain_errors(host[2:] if host.startswith("*.") else host)
    return ["must be a hostname such as foo.example.com or *.example.com"] if errors else []


# --- GatewayClass and Gateway -------------------------------------------------------------------


class GatewayClassSpec(ApiModel):
    controllerName: StrictStr
    description: StrictStr | None = None
    parametersRef: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _controller(self) -> GatewayClassSpec:
        if len(self.controllerName) > 253 or not _CONTROLLER.match(self.controllerName):
            problems = ProblemList()
            problems.add(("controllerName",), invalid_value(self.controllerName, "must be a domain-prefixed path (such as \"example.net/gateway-controller\")"))
            problems.raise_if_any()
        return self


class GatewayClass(ApiModel):
    apiVersion: Literal["gateway.networking.k8s.io/v1"] = API_VERSION
    kind: Literal["GatewayClass"] = "GatewayClass"
    metadata: ObjectMeta
    spec: GatewayClassSpec


class SecretObjectReference(ApiModel):
    group: StrictStr = ""
    kind: StrictStr = "Secret"
    name: StrictStr
    namespace: StrictStr | None = None


class GatewayTLSConfig(ApiModel):
    _warn_when_set = {"options": "TLS options are not applied by netlab, ignored"}

    mode: StrictStr = "Terminate"
    certificateRefs: list[SecretObjectReference] = []
    options: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _tls(self) -> GatewayTLSConfig:
        problems = ProblemList()
        if self.mode not in ("Terminate", "Passthrough"):
            problems.add(("mode",), unsupported_value(self.mode, ("Terminate", "Passthrough")))
        elif self.mode == "Terminate" and not self.certificateRefs and not self.options:
            problems.add((), invalid_value("", "certificateRefs or options must be specified when mode is Terminate"))
        if len(self.certificateRefs) > 64:
            problems.add(("certificateRefs",), invalid_value(len(self.certificateRefs), "must have at most 64 items"))
        problems.raise_if_any()
        return self


def listener_tls(listener: Listener) -> GatewayTLSConfig:
    return listener.tls if listener.tls is not None else GatewayTLSConfig(mode="Passthrough")


class Listener(ApiModel):
    name: StrictStr
    hostname: StrictStr | None = None
    port: StrictInt
    protocol: StrictStr
    tls: GatewayTLSConfig | None = None
    allowedRoutes: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _listener(self) -> Listener:
        problems = ProblemList()
        for e in names.dns1123_subdomain_errors(self.name):
            problems.add(("name",), invalid_value(self.name, e))
        if not 1 <= self.port <= 65535:
            problems.add(("port",), invalid_value(self.port, "must be between 1 and 65535, inclusive"))
        if self.protocol not in PROTOCOLS:
            problems.add(("protocol",), unsupported_value(self.protocol, PROTOCOLS))
        elif self.protocol not in ("HTTP", "HTTPS"):
            problems.add(("protocol",), unsupported_value(self.protocol, ["HTTP", "HTTPS"], "netlab serves HTTP and HTTPS listeners"))
        if self.tls is not None and self.protocol == "HTTP":
            problems.add(("tls",), invalid_value("", "tls must not be specified for protocols ['HTTP', 'TCP', 'UDP']"))
        if self.tls is None and self.protocol == "HTTPS":
            problems.add(("tls",), required_value("tls must be specified for protocols ['HTTPS', 'TLS']"))
        elif self.tls is not None and self.protocol == "HTTPS" and self.tls.mode != "Terminate":
            problems.add(("tls", "mode"), invalid_value(self.tls.mode, "tls mode must be Terminate for protocol HTTPS"))
        if self.hostname:
            for e in hostname_errors(self.hostname):
                problems.add(("hostname",), invalid_value(self.hostname, e))
        problems.raise_if_any()
        return self


class GatewaySpec(ApiModel):
    gatewayClassName: StrictStr
    listeners: list[Listener]
    addresses: list[dict[str, Any]] | None = None

    @model_validator(mode="after")
    def _listeners(self) -> GatewaySpec:
        problems = ProblemList()
        if not self.listeners:
            problems.add(("listeners",), required_value("a Gateway needs at least one listener"))
        seen: set[str] = set()
        for i, listener in enumerate(self.listeners):
            if listener.name in seen:
                problems.add(("listeners", i, "name"), duplicate_value(listener.name))
            seen.add(listener.name)
        problems.raise_if_any()
        return self


class Gateway(ApiModel):
    apiVersion: Literal["gateway.networking.k8s.io/v1"] = API_VERSION
    kind: Literal["Gateway"] = "Gateway"
    metadata: ObjectMeta
    spec: GatewaySpec


# --- HTTPRoute ----------------------------------------------------------------------------------


class ParentReference(ApiModel):
    group: StrictStr = GROUP
    kind: StrictStr = "Gateway"
    namespace: StrictStr | None = None
    name: StrictStr
    sectionName: StrictStr | None = None
    port: StrictInt | None = None


class HTTPPathMatch(ApiModel):
    type: StrictStr = "PathPrefix"
    value: StrictStr = "/"

    @model_validator(mode="after")
    def _path(self) -> HTTPPathMatch:
        problems = ProblemList()
        if self.type not in PATH_MATCH_TYPES:
            problems.add(("type",), unsupported_value(self.type, PATH_MATCH_TYPES))
        elif self.type == "RegularExpression":
            problems.add(("type",), unsupported_value(self.type, ["Exact", "PathPrefix"], "netlab serves the core match types"))
        elif not self.value.startswith("/"):
            problems.add(("value",), invalid_value(self.value, "value must be an absolute path and start with '/' when type one of ['Exact', 'PathPrefix']"))
        else:
            for bad in ("//", "/./", "/../", "%2f", "%2F", "#"):
                if bad in self.value:
                    problems.add(("value",), invalid_value(self.value, f"must not contain '{bad}' when type one of ['Exact', 'PathPrefix']"))
            for bad in ("/..", "/."):
                if self.value.endswith(bad):
                    problems.add(("value",), invalid_value(self.value, f"must not end with '{bad}' when type one of ['Exact', 'PathPrefix']"))
            for e in path_char_errors(self.value):
                problems.add(("value",), invalid_value(self.value, f"{e} when type one of ['Exact', 'PathPrefix']"))
        problems.raise_if_any()
        return self


class HTTPHeaderMatch(ApiModel):
    type: StrictStr = "Exact"
    name: StrictStr
    value: StrictStr

    @model_validator(mode="after")
    def _header(self) -> HTTPHeaderMatch:
        problems = ProblemList()
        if self.type != "Exact":
            problems.add(("type",), unsupported_value(self.type, ["Exact"], "netlab serves the core match type"))
        if not _HEADER_NAME.match(self.name) or len(self.name) > 256:
            problems.add(("name",), invalid_value(self.name, "must be an HTTP header name"))
        if not 1 <= len(self.value) <= 4096:
            problems.add(("value",), invalid_value(self.value, "must be 1 to 4096 characters"))
        problems.raise_if_any()
        return self


class HTTPRouteMatch(ApiModel):
    path: HTTPPathMatch = HTTPPathMatch()
    headers: list[HTTPHeaderMatch] = []
    queryParams: list[HTTPHeaderMatch] = []
    method: StrictStr | None = None

    @model_validator(mode="after")
    def _unique(self) -> HTTPRouteMatch:
        problems = ProblemList()
        for field in ("headers", "queryParams"):
            seen: set[str] = set()
            for i, m in enumerate(getattr(self, field)):
                key = m.name.lower() if field == "headers" else m.name
                if key in seen:
                    problems.add((field, i, "name"), duplicate_value(m.name))
                seen.add(key)
        methods = ("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH")
        if self.method is not None and self.method not in methods:
            problems.add(("method",), unsupported_value(self.method, methods))
        problems.raise_if_any()
        return self


class HTTPBackendRef(ApiModel):
    _warn_when_set = {"filters": "backendRef filters are not applied by netlab (the rule's are), ignored"}

    group: StrictStr = ""
    kind: StrictStr = "Service"
    name: StrictStr
    namespace: StrictStr | None = None
    port: StrictInt | None = None
    weight: StrictInt = 1
    filters: list[dict[str, Any]] | None = None

    @model_validator(mode="after")
    def _ref(self) -> HTTPBackendRef:
        problems = ProblemList()
        if (self.group, self.kind) == ("", "Service") and self.port is None:
            problems.add(("port",), required_value("Must have port for Service reference"))
        if self.port is not None and not 1 <= self.port <= 65535:
            problems.add(("port",), invalid_value(self.port, "must be between 1 and 65535, inclusive"))
        if not 0 <= self.weight <= 1000000:
            problems.add(("weight",), invalid_value(self.weight, "must be between 0 and 1000000, inclusive"))
        problems.raise_if_any()
        return self


class HTTPRouteRule(ApiModel):
    name: StrictStr | None = None
    matches: list[HTTPRouteMatch] = [HTTPRouteMatch()]
    backendRefs: list[HTTPBackendRef] = []
    filters: list[HTTPRouteFilter] = []

    @model_validator(mode="after")
    def _filters(self) -> HTTPRouteRule:
        problems = ProblemList()
        rule_filter_problems(self.filters, self.matches, problems)
        problems.raise_if_any()
        return self

    def filter(self, kind: str) -> HTTPRouteFilter | None:
        return next((f for f in self.filters if f.type == kind), None)


class HTTPRouteSpec(ApiModel):
    parentRefs: list[ParentReference] = []
    hostnames: list[StrictStr] = []
    rules: list[HTTPRouteRule] = [HTTPRouteRule()]

    @model_validator(mode="after")
    def _hostnames(self) -> HTTPRouteSpec:
        problems = ProblemList()
        for i, host in enumerate(self.hostnames):
            for e in hostname_errors(host):
                problems.add(("hostnames", i), invalid_value(host, e))
        problems.raise_if_any()
        return self


class HTTPRoute(ApiModel):
    apiVersion: Literal["gateway.networking.k8s.io/v1"] = API_VERSION
    kind: Literal["HTTPRoute"] = "HTTPRoute"
    metadata: ObjectMeta
    spec: HTTPRouteSpec = HTTPRouteSpec()


__all__ = ["Gateway", "GatewayClass", "HTTPRoute", "NGINX_GATEWAY_CONTROLLER", "hostname_errors", "listener_tls"]
