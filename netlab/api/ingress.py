"""networking.k8s.io/v1 Ingress and IngressClass, with the apiserver's validation.

Field names follow k8s.io/api/networking/v1; the checks follow
pkg/apis/networking/validation (ValidateIngressSpec, validateIngressRules,
validateHTTPIngressPath, validateIngressBackend, ValidateIngressClass), with the apiserver's
wordings and field paths: `spec.rules[0].http.paths[0].pathType: Required value: pathType
must be specified`. v1 has no defaulting for Ingress (pathType has no default).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Literal

from pydantic import StrictStr, model_validator

from netlab.api import names
from netlab.api.field import (
    Loc,
    ProblemList,
    field_errors,
    invalid_value,
    required_value,
    unsupported_value,
)
from netlab.api.meta import ApiModel, ObjectMeta

API_VERSION = "networking.k8s.io/v1"
# The controller netlab runs for its built-in IngressClass `nginx` (ingress-nginx's name).
NGINX_CONTROLLER = "k8s.io/ingress-nginx"
PATH_TYPES = ("Exact", "ImplementationSpecific", "Prefix")
# The annotation that marks the cluster's default IngressClass (networking/v1 AnnotationIsDefaultIngressClass).
DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class"
# What Exact and Prefix paths may not contain (validation.invalidPathSequences / invalidPathSuffixes).
_INVALID_SEQUENCES = ("//", "/./", "/../", "%2f", "%2F")
_INVALID_SUFFIXES = ("/..", "/.")


def host_errors(host: str) -> list[str]:
    """A rule's host: a DNS-1123 subdomain, or `*.` and one (IsWildcardDNS1123Subdomain);
    never an IP address."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return ["must be a DNS name, not an IP address"]
    if host.startswith("*."):
        errors = names.dns1123_subdomain_errors(host[2:])
        if errors:
            return ["a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS "
                    "subdomain, which must consist of lower case alphanumeric characters, '-' or "
                    "'.' and end with an alphanumeric character (e.g. '*.example.com')"]
        return []
    return names.dns1123_subdomain_errors(host)


def field_error_at(loc: Loc, message: str):
    return field_errors([(loc, message)])


# --- backends -----------------------------------------------------------------------------------


class ServiceBackendPort(ApiModel):
    name: StrictStr | None = None
    number: int | None = None


class IngressServiceBackend(ApiModel):
    name: StrictStr
    port: ServiceBackendPort = ServiceBackendPort()


class IngressBackend(ApiModel):
    service: IngressServiceBackend | None = None
    resource: dict[str, Any] | None = None  # TypedLocalObjectReference; kept, not routed by netlab

    @model_validator(mode="after")
    def _one_backend(self) -> IngressBackend:
        problems = ProblemList()
        if self.service is not None and self.resource is not None:
            problems.add((), invalid_value("", "cannot set both resource and service backends"))
        elif self.service is None and self.resource is None:
            problems.add((), invalid_value("", "resource or service backend is required"))
        if self.service is not None:
            svc = self.service
            for e in names.dns1035_label_errors(svc.name):
                problems.add(("service", "name"), invalid_value(svc.name, e))
            port = svc.port
            if port.name and port.number is not None:
                problems.add(("service", "port"), invalid_value("", "cannot set both port name & port number"))
            elif port.name:
                for e in names.iana_svc_name_errors(port.name):
                    problems.add(("service", "port", "name"), invalid_value(port.name, e))
            elif port.number is not None:
                if isinstance(port.number, bool) or not 1 <= port.number <= 65535:
                    problems.add(("service", "port", "number"),
                                 invalid_value(port.number, "must be between 1 and 65535, inclusive"))
            else:
                problems.add(("service", "port"), invalid_value("", "port name or number is required"))
        problems.raise_if_any()
        return self


# --- rules --------------------------------------------------------------------------------------


class HTTPIngressPath(ApiModel):
    path: StrictStr | None = None
    pathType: StrictStr | None = None
    backend: IngressBackend

    @model_validator(mode="after")
    def _path(self) -> HTTPIngressPath:
        problems = ProblemList()
        if self.pathType is None:
            problems.add(("pathType",), required_value("pathType must be specified"))
        elif self.pathType not in PATH_TYPES:
            problems.add(("pathType",), unsupported_value(self.pathType, PATH_TYPES))
        path = self.path or ""
        if self.pathType in ("Exact", "Prefix"):
            if not path.startswith("/"):
                problems.add(("path",), invalid_value(path, "must be an absolute path"))
            else:
                for bad in _INVALID_SEQUENCES:
                    if bad in path:
                        problems.add(("path",), invalid_value(path, f"must not contain '{bad}'"))
                for bad in _INVALID_SUFFIXES:
                    if path.endswith(bad):
                        problems.add(("path",), invalid_value(path, f"cannot end with '{bad}'"))
        elif self.pathType == "ImplementationSpecific" and path and not path.startswith("/"):
            problems.add(("path",), invalid_value(path, "must be an absolute path"))
        problems.raise_if_any()
        return self


class HTTPIngressRuleValue(ApiModel):
    paths: list[HTTPIngressPath] = []

    @model_validator(mode="after")
    def _some_paths(self) -> HTTPIngressRuleValue:
        if not self.paths:
            raise field_error_at(("paths",), required_value())
        return self


class IngressRule(ApiModel):
    host: StrictStr | None = None
    http: HTTPIngressRuleValue | None = None

    @model_validator(mode="after")
    def _host(self) -> IngressRule:
        problems = ProblemList()
        if self.host:
            for e in host_errors(self.host):
                problems.add(("host",), invalid_value(self.host, e))
        problems.raise_if_any()
        return self


class IngressTLS(ApiModel):
    hosts: list[StrictStr] = []
    secretName: StrictStr | None = None

    @model_validator(mode="after")
    def _hosts(self) -> IngressTLS:
        problems = ProblemList()
        for i, host in enumerate(self.hosts):
            for e in host_errors(host):
                problems.add(("hosts", i), invalid_value(host, e))
        problems.raise_if_any()
        return self


class IngressSpec(ApiModel):
    ingressClassName: StrictStr | None = None
    defaultBackend: IngressBackend | None = None
    rules: list[IngressRule] = []
    tls: list[IngressTLS] | None = None

    @model_validator(mode="after")
    def _something_to_route(self) -> IngressSpec:
        problems = ProblemList()
        if self.defaultBackend is None and not self.rules:
            problems.add((), invalid_value("", "either `defaultBackend` or `rules` must be specified"))
        if self.ingressClassName is not None:
            for e in names.dns1123_subdomain_errors(self.ingressClassName):
                problems.add(("ingressClassName",), invalid_value(self.ingressClassName, e))
        problems.raise_if_any()
        return self


class Ingress(ApiModel):
    apiVersion: Literal["networking.k8s.io/v1"] = API_VERSION
    kind: Literal["Ingress"] = "Ingress"
    metadata: ObjectMeta
    spec: IngressSpec


# --- IngressClass -------------------------------------------------------------------------------

# ValidateIngressClass: the controller is a domain-prefixed path (k8s.io/ingress-nginx).
_CONTROLLER = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/\S+$")


class IngressClassSpec(ApiModel):
    controller: StrictStr
    parameters: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _controller(self) -> IngressClassSpec:
        if len(self.controller) > 250 or not _CONTROLLER.match(self.controller):
            raise field_error_at(("controller",), invalid_value(
                self.controller, "must be a domain-prefixed path (such as \"acme.io/foo\")"))
        return self


class IngressClass(ApiModel):
    apiVersion: Literal["networking.k8s.io/v1"] = API_VERSION
    kind: Literal["IngressClass"] = "IngressClass"
    metadata: ObjectMeta
    spec: IngressClassSpec

    @property
    def is_default(self) -> bool:
        return (self.metadata.annotations or {}).get(DEFAULT_CLASS_ANNOTATION) == "true"


__all__ = [
    "DEFAULT_CLASS_ANNOTATION",
    "HTTPIngressPath",
    "Ingress",
    "IngressBackend",
    "IngressClass",
    "IngressRule",
    "IngressSpec",
    "host_errors",
]
