"""HTTPRoute filters of the core profile (gateway.networking.k8s.io/v1 HTTPRouteFilter), with the
CRD's own checks: RequestHeaderModifier (set/add/remove), RequestRedirect (scheme, hostname,
port, path, statusCode 301/302) and URLRewrite (hostname, path).

The CEL rules of config/crd/standard/gateway.networking.k8s.io_httproutes.yaml are kept with
their wording: the field of the filter's type must be set and no other
("filter.requestRedirect must be specified for RequestRedirect filter.type"), a rule holds at
most one filter of a type ("RequestHeaderModifier filter cannot be repeated"), RequestRedirect
and URLRewrite exclude each other, and ReplacePrefixMatch needs exactly one PathPrefix match.
The extended filters (ResponseHeaderModifier, RequestMirror, ExtensionRef) are kept and
warned about: netlab does not apply them.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import StrictInt, StrictStr, model_validator

from netlab.api import names
from netlab.api.field import ProblemList, duplicate_value, invalid_value, unsupported_value
from netlab.api.meta import ApiModel

FILTER_TYPES = ("RequestHeaderModifier", "ResponseHeaderModifier", "RequestMirror", "RequestRedirect", "URLRewrite", "ExtensionRef")
SERVED_FILTERS = ("RequestHeaderModifier", "RequestRedirect", "URLRewrite")
_FIELD = {t: t[0].lower() + t[1:] for t in FILTER_TYPES} | {"URLRewrite": "urlRewrite"}
HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$")
# The CRD's pattern for Exact/PathPrefix values (HTTPPathMatch), used for the filters' paths too.
PATH_CHARS = re.compile(r"^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$")
_NOT_APPLIED = "this filter type is not applied by netlab (the core ones are), ignored"


def path_char_errors(value: str) -> list[str]:
    if PATH_CHARS.match(value):
        return []
    return ["must only contain valid characters (matching ^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$)"]


class HTTPHeader(ApiModel):
    name: StrictStr
    value: StrictStr

    @model_validator(mode="after")
    def _header(self) -> HTTPHeader:
        problems = ProblemList()
        if not HEADER_NAME.match(self.name) or len(self.name) > 256:
            problems.add(("name",), invalid_value(self.name, "must be an HTTP header name"))
        if not 1 <= len(self.value) <= 4096:
            problems.add(("value",), invalid_value(self.value, "must be 1 to 4096 characters"))
        elif any(c in self.value for c in "\r\n\0"):
            problems.add(("value",), invalid_value(self.value, "must not contain CR, LF or NUL"))
        problems.raise_if_any()
        return self


class HTTPHeaderFilter(ApiModel):
    set: list[HTTPHeader] = []
    add: list[HTTPHeader] = []
    remove: list[StrictStr] = []

    @model_validator(mode="after")
    def _unique(self) -> HTTPHeaderFilter:
        problems = ProblemList()
        for field in ("set", "add"):
            seen: set[str] = set()
            for i, h in enumerate(getattr(self, field)):
                if h.name.lower() in seen:
                    problems.add((field, i, "name"), duplicate_value(h.name))
                seen.add(h.name.lower())
            if len(getattr(self, field)) > 16:
                problems.add((field,), invalid_value(len(getattr(self, field)), "must have at most 16 items"))
        seen = set()
        for i, name in enumerate(self.remove):
            if not HEADER_NAME.match(name):
                problems.add(("remove", i), invalid_value(name, "must be an HTTP header name"))
            if name.lower() in seen:
                problems.add(("remove", i), duplicate_value(name))
            seen.add(name.lower())
        problems.raise_if_any()
        return self


class HTTPPathModifier(ApiModel):
    type: StrictStr
    replaceFullPath: StrictStr | None = None
    replacePrefixMatch: StrictStr | None = None

    @model_validator(mode="after")
    def _modifier(self) -> HTTPPathModifier:
        problems = ProblemList()
        kinds = ("ReplaceFullPath", "ReplacePrefixMatch")
        if self.type not in kinds:
            problems.add(("type",), unsupported_value(self.type, kinds))
        for kind in kinds:
            field = kind[0].lower() + kind[1:]
            value = getattr(self, field)
            if self.type == kind and value is None:
                problems.add((), invalid_value("", f"{field} must be specified when type is set to '{kind}'"))
            elif self.type != kind and value is not None:
                problems.add((), invalid_value("", f"type must be '{kind}' when {field} is set"))
            elif value is not None:
                if not value.startswith("/") or len(value) > 1024:
                    problems.add((field,), invalid_value(value, "must be an absolute path of at most 1024 characters"))
                else:
                    for e in path_char_errors(value):
                        problems.add((field,), invalid_value(value, e))
        problems.raise_if_any()
        return self

    @property
    def value(self) -> str:
        return self.replaceFullPath if self.type == "ReplaceFullPath" else self.replacePrefixMatch  # type: ignore[return-value]


def _precise_hostname(problems: ProblemList, host: str | None) -> None:
    if host is not None and (host.startswith("*.") or names.dns1123_subdomain_errors(host)):
        problems.add(("hostname",), invalid_value(host, "must be a precise hostname such as foo.example.com (no wildcard)"))


class HTTPRequestRedirectFilter(ApiModel):
    scheme: StrictStr | None = None
    hostname: StrictStr | None = None
    path: HTTPPathModifier | None = None
    port: StrictInt | None = None
    statusCode: StrictInt = 302

    @model_validator(mode="after")
    def _redirect(self) -> HTTPRequestRedirectFilter:
        problems = ProblemList()
        if self.scheme is not None and self.scheme not in ("http", "https"):
            problems.add(("scheme",), unsupported_value(self.scheme, ("http", "https")))
        _precise_hostname(problems, self.hostname)
        if self.port is not None and not 1 <= self.port <= 65535:
            problems.add(("port",), invalid_value(self.port, "must be between 1 and 65535, inclusive"))
        if self.statusCode not in (301, 302):
            problems.add(("statusCode",), unsupported_value(self.statusCode, ("301", "302")))
        problems.raise_if_any()
        return self


class HTTPURLRewriteFilter(ApiModel):
    hostname: StrictStr | None = None
    path: HTTPPathModifier | None = None

    @model_validator(mode="after")
    def _rewrite(self) -> HTTPURLRewriteFilter:
        problems = ProblemList()
        _precise_hostname(problems, self.hostname)
        problems.raise_if_any()
        return self


class HTTPRouteFilter(ApiModel):
    _warn_when_set = {"responseHeaderModifier": _NOT_APPLIED, "requestMirror": _NOT_APPLIED, "extensionRef": _NOT_APPLIED}

    type: StrictStr
    requestHeaderModifier: HTTPHeaderFilter | None = None
    requestRedirect: HTTPRequestRedirectFilter | None = None
    urlRewrite: HTTPURLRewriteFilter | None = None
    responseHeaderModifier: dict[str, Any] | None = None
    requestMirror: dict[str, Any] | None = None
    extensionRef: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _one_of(self) -> HTTPRouteFilter:
        problems = ProblemList()
        if self.type not in FILTER_TYPES:
            problems.add(("type",), unsupported_value(self.type, FILTER_TYPES))
        for kind, field in _FIELD.items():
            if kind == self.type and getattr(self, field) is None:
                problems.add((), invalid_value("", f"filter.{field} must be specified for {kind} filter.type"))
            elif kind != self.type and getattr(self, field) is not None:
                problems.add((), invalid_value("", f"filter.{field} must be nil if the filter.type is not {kind}"))
        problems.raise_if_any()
        return self


def rule_filter_problems(filters: list[HTTPRouteFilter], matches: list[Any], problems: ProblemList) -> None:
    """The CRD's rule-level CEL checks on a rule's filters."""
    types = [f.type for f in filters]
    for kind in ("RequestHeaderModifier", "ResponseHeaderModifier", "RequestRedirect", "URLRewrite"):
        if types.count(kind) > 1:
            problems.add(("filters",), invalid_value("", f"{kind} filter cannot be repeated"))
    if "RequestRedirect" in types and "URLRewrite" in types:
        problems.add(("filters",), invalid_value("", "May specify either httpRouteFilterRequestRedirect or "
                                                     "httpRouteFilterRequestRewrite, but not both"))
    for f in filters:
        modifier = (f.requestRedirect or f.urlRewrite)
        if modifier is not None and modifier.path is not None and modifier.path.type == "ReplacePrefixMatch":
            if len(matches) != 1 or matches[0].path.type != "PathPrefix":
                what = "RequestRedirect" if f.requestRedirect else "URLRewrite"
                problems.add(("filters",), invalid_value("", f"When using {what} filter with path.replacePrefixMatch, "
                                                             "exactly one PathPrefix match must be specified"))


__all__ = ["HTTPRouteFilter", "SERVED_FILTERS", "path_char_errors", "rule_filter_problems"]
