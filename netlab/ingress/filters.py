"""HTTPRoute filters -> nginx directives (pure): what a rule's RequestHeaderModifier,
RequestRedirect and URLRewrite become inside its `location`.

The shapes are NGINX Gateway Fabric's (internal/mode/static/nginx/config/servers.go):
- RequestHeaderModifier: `proxy_set_header Name "value"` for set; add appends to the value
  the client sent, through a `map` on `$http_name` ("" -> value, else "$http_name,value");
  remove is `proxy_set_header Name ""` (nginx drops a header whose value is empty). A
  location with its own proxy_set_header inherits none from the http block, so the usual
  ones (Host, X-Forwarded-For, ...) are written again, the filter's overriding them.
- RequestRedirect: a `rewrite` whose replacement is an absolute URL (`redirect` = 302,
  `permanent` = 301); the query string is kept. The port follows the spec: the filter's
  port, else the scheme's well-known one when the scheme is set, else the listener's; 80
  for http and 443 for https are left out of Location.
- URLRewrite: `rewrite ... break` for the path (the proxied request carries the new path,
  query kept), `proxy_set_header Host` for the hostname.
ReplacePrefixMatch swaps the matched PathPrefix for the new prefix on whole path elements:
PathPrefix /cart + replacePrefixMatch /basket sends /cart/7 to /basket/7 and /cart to
/basket; a replacement of `/` gives /cart/7 -> /7.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

# What the http block sets for every proxied request (ingress-nginx's defaults).
PROXY_HEADERS: tuple[tuple[str, str], ...] = (
    ("Connection", '""'),
    ("Host", "$host"),
    ("X-Real-IP", "$remote_addr"),
    ("X-Forwarded-For", "$proxy_add_x_forwarded_for"),
    ("X-Forwarded-Host", "$host"),
    ("X-Forwarded-Proto", "$scheme"),
)
WELL_KNOWN = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Filters:
    set_headers: tuple[tuple[str, str], ...] = ()
    add_headers: tuple[tuple[str, str], ...] = ()
    remove_headers: tuple[str, ...] = ()
    # RequestRedirect: scheme, hostname, port (0: unset), status, path type, path value ("" unset)
    redirect: tuple[str, str, int, int, str, str] | None = None
    rewrite_host: str = ""
    rewrite_path: tuple[str, str] | None = None  # (ReplaceFullPath | ReplacePrefixMatch, value)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Filters | None:
        if data is None:
            return None
        return cls(
            set_headers=tuple(tuple(h) for h in data.get("set_headers", ())),  # type: ignore[misc]
            add_headers=tuple(tuple(h) for h in data.get("add_headers", ())),  # type: ignore[misc]
            remove_headers=tuple(data.get("remove_headers", ())),
            redirect=tuple(data["redirect"]) if data.get("redirect") else None,  # type: ignore[arg-type]
            rewrite_host=data.get("rewrite_host", ""),
            rewrite_path=tuple(data["rewrite_path"]) if data.get("rewrite_path") else None,  # type: ignore[arg-type]
        )


def from_rule(rule) -> Filters | None:
    """The served filters of an HTTPRoute rule (api.gateway.HTTPRouteRule), or None."""
    headers = rule.filter("RequestHeaderModifier")
    redirect = rule.filter("RequestRedirect")
    rewrite = rule.filter("URLRewrite")
    if not (headers or redirect or rewrite):
        return None
    h = headers.requestHeaderModifier if headers else None
    r = redirect.requestRedirect if redirect else None
    w = rewrite.urlRewrite if rewrite else None
    return Filters(
        set_headers=tuple((x.name, x.value) for x in h.set) if h else (),
        add_headers=tuple((x.name, x.value) for x in h.add) if h else (),
        remove_headers=tuple(h.remove) if h else (),
        redirect=(r.scheme or "", r.hostname or "", r.port or 0, r.statusCode,
                  r.path.type if r.path else "", r.path.value if r.path else "") if r else None,
        rewrite_host=(w.hostname or "") if w else "",
        rewrite_path=(w.path.type, w.path.value) if w and w.path else None,
    )


def quoted(text: str) -> str:
    """A literal in a string nginx expands variables in: `$` goes through `$netlab_dollar`."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "${netlab_dollar}") + '"'


def _regex_literal(text: str) -> str:
    # The CRD's path characters leave `.$*+()` as the ones a regex reads specially.
    return "".join(f"[{c}]" if c in ".$*+()?[]{}|^" else c for c in text)


def add_variable(name: str, value: str) -> str:
    digest = hashlib.sha1(f"{name.lower()}\0{value}".encode()).hexdigest()[:10]
    return f"$netlab_add_{digest}"


def header_var(name: str) -> str:
    return "$http_" + name.lower().replace("-", "_")


def add_maps(filters: list[Filters]) -> list[str]:
    """The http-level maps the `add` headers read: the client's value with ours appended."""
    lines: list[str] = []
    seen: set[str] = set()
    for f in filters:
        for name, value in f.add_headers:
            var = add_variable(name, value)
            if var in seen:
                continue
            seen.add(var)
            lines += [f"    map {header_var(name)} {var} {{",
                      f'        "" {quoted(value)};',
                      f'        default "{header_var(name)},{quoted(value)[1:-1]}";',
                      "    }"]
    return lines


def _lit(text: str) -> str:
    return quoted(text)[1:-1]


def _new_path(match: str, path: str, kind: str, value: str, strip: str) -> tuple[str, str]:
    """(regex over $uri, rendered replacement) that turns the location's path into the new one."""
    if kind == "ReplaceFullPath":
        return f"^{strip}.*$", _lit(value)
    if not kind:  # the path unchanged
        return f"^{strip}(.*)$", "$1"
    base = path.rstrip("/") if match == "prefix" else path
    new_prefix = _lit(value.rstrip("/"))
    if match == "exact":  # the PathPrefix itself, nothing after it
        return f"^{strip}{_regex_literal(base)}$", new_prefix or "/"
    return f"^{strip}{_regex_literal(base)}(/.*)$", new_prefix + "$1"


def _rewrite(regex: str, replacement: str, flag: str) -> str:
    return f'            rewrite "{regex}" "{replacement}" {flag};'


def _redirect_url(redirect: tuple, listener_port: int, listener_scheme: str) -> str:
    scheme, hostname, port, _, _, _ = redirect
    effective = scheme or listener_scheme
    if not port:
        port = WELL_KNOWN[scheme] if scheme else listener_port
    host = _lit(hostname) if hostname else "$host"
    shown = "" if port == WELL_KNOWN[effective] else f":{port}"
    return f"{effective}://{host}{shown}"


def directives(f: Filters, match: str, path: str, port: int, scheme: str, strip: str = "") -> tuple[list[str], bool]:
    """The filter's directives for a location (before proxy_pass), and whether the request
    ends in a redirect. `strip` is the internal prefix a conditional location jumped through
    (removed again here)."""
    if f.redirect is not None:
        regex, new = _new_path(match, path, f.redirect[4], f.redirect[5], strip)
        flag = "permanent" if f.redirect[3] == 301 else "redirect"
        return [_rewrite(regex, _redirect_url(f.redirect, port, scheme) + new, flag)], True
    lines: list[str] = []
    if f.rewrite_path is not None or strip:
        kind, value = f.rewrite_path or ("", "")
        lines.append(_rewrite(*_new_path(match, path, kind, value, strip), "break"))
    headers = {name.lower(): (name, value) for name, value in PROXY_HEADERS}
    if f.rewrite_host:
        headers["host"] = ("Host", quoted(f.rewrite_host))
    for name, value in f.set_headers:
        headers[name.lower()] = (name, quoted(value))
    for name, value in f.add_headers:
        headers[name.lower()] = (name, add_variable(name, value))
    for name in f.remove_headers:
        headers[name.lower()] = (name, '""')
    if f.set_headers or f.add_headers or f.remove_headers or f.rewrite_host:
        lines += [f"            proxy_set_header {name} {value};" for name, value in headers.values()]
    return lines, False
