"""Routes -> nginx.conf (pure): what the controller pod's nginx loads.

netlab's own template, shaped like the one ingress-nginx renders (rootfs/etc/nginx/template/
nginx.tmpl): one `server` per host, the catch-all `_` as `default_server`, upstreams named
namespace-service-port whose members are the endpoint pods, the client address passed on in
X-Forwarded-For. Every path the running nginx writes (pid, temp files, logs) is under the
pod's own state directory, given as `NginxPaths`, so it never touches /etc/nginx, /var/lib/nginx
or the host's nginx service.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from netlab.ingress import filters as rule_filters
from netlab.ingress.routes import CATCH_ALL, Location, Routes, Server

HTTP_PORT = 80


@dataclass(frozen=True)
class NginxPaths:
    prefix: str  # the controller's directory: <pod dir>/nginx

    @property
    def conf(self) -> str:
        return os.path.join(self.prefix, "nginx.conf")

    @property
    def pid(self) -> str:
        return os.path.join(self.prefix, "nginx.pid")

    @property
    def error_log(self) -> str:
        return os.path.join(self.prefix, "error.log")

    @property
    def access_log(self) -> str:
        return os.path.join(self.prefix, "access.log")

    @property
    def temp(self) -> str:
        return os.path.join(self.prefix, "tmp")


def _server_name(host: str) -> str:
    if host == CATCH_ALL:
        return "_"
    if host.startswith("*."):
        # The Ingress wildcard covers exactly one label; nginx's own `*.example` would also
        # match a.b.example, so it is written as a regex (weighed after exact names).
        return "~^[^.]+" + re.escape(host[1:]).replace("\\-", "-") + "$"
    return host


_PLAIN_PATH = re.compile(r"[A-Za-z0-9/._~%:@!&()*+,=-]*")


def nginx_string(value: str) -> str:
    """A path as an nginx token: bare when it holds no character nginx's parser treats
    specially, else double-quoted with `"` and `\\` escaped, so an Ingress path such as
    `/a;}` stays one location and cannot inject configuration (ingress-nginx's
    CVE-2021-25742 family)."""
    if _PLAIN_PATH.fullmatch(value) and "$" not in value:
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _scheme(server: Server) -> str:
    return "https" if server.certificate else "http"


def _target(loc: Location, server: Server, strip: str = "") -> list[str]:
    """What the location does with the request: its filters, then proxy_pass or return."""
    lines = []
    if loc.source:
        lines.append(f'            set $ingress_name "{loc.source}";')
    if loc.filters is not None:
        more, redirected = rule_filters.directives(loc.filters, loc.match, loc.path, server.port, _scheme(server), strip)
        lines += more
        if redirected:
            return lines
    if loc.upstream is not None:
        lines.append(f"            proxy_pass http://{loc.upstream};")
    else:
        lines.append(f"            return {loc.status};")
    return lines


def _location(loc: Location, server: Server) -> list[str]:
    modifier = "= " if loc.match == "exact" else ""
    return [f"        location {modifier}{nginx_string(loc.path)} {{", *_target(loc, server), "        }"]


INTERNAL = "/_netlab_filter/"


def _internal(index: int, loc: Location, server: Server) -> list[str]:
    """A candidate with filters, reached from its conditional location by an internal
    rewrite (nginx allows neither proxy_set_header nor a second rewrite phase inside `if`)."""
    prefix = f"{INTERNAL}{index}"
    return [f"        location ^~ {prefix}/ {{", "            internal;", *_target(loc, server, prefix), "        }"]


def _value(text: str) -> str:
    """A literal for an `if` comparison: quoted, and `$` written through `$netlab_dollar`
    (nginx expands variables in these strings and has no escape for `$`)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "${netlab_dollar}") + '"'


def _variable(kind: str, name: str) -> str:
    if kind == "header":
        return "$http_" + name.lower().replace("-", "_")
    if kind == "query":
        return "$arg_" + name
    return "$request_method"


def _conditional(group: list[Location], server: Server, internal: list[list[str]]) -> list[str]:
    """Several HTTPRoute matches on one path: each match's conditions are ANDed by appending a
    mark per condition that holds; the candidates are then tried from the lowest precedence to
    the highest, so the highest one that matches sets the target last."""
    first = group[0]
    modifier = "= " if first.match == "exact" else ""
    lines = [f"        location {modifier}{nginx_string(first.path)} {{", '            set $gw_target "404";']
    for i, loc in enumerate(group):
        if loc.when:
            lines.append(f'            set $gw_c{i} "";')
            for kind, name, value in loc.when:
                lines.append(f'            if ({_variable(kind, name)} = {_value(value)}) {{ set $gw_c{i} "${{gw_c{i}}}1"; }}')
    jumps = []
    for i, loc in reversed(list(enumerate(group))):
        target = loc.upstream or str(loc.status)
        if loc.filters is not None:
            index = len(internal)
            internal.append(_internal(index, loc, server))
            target = f"@{index}"
            jumps.append(f'            if ($gw_target = "{target}") {{ rewrite ^(.*)$ {INTERNAL}{index}$1 last; }}')
        test = f'$gw_c{i} = "{"1" * len(loc.when)}"' if loc.when else None
        body = f'set $gw_target "{target}"; set $ingress_name "{loc.source}";'
        lines.append(f"            if ({test}) {{ {body} }}" if test else f"            {body}")
    for status in sorted({loc.status for loc in group if loc.upstream is None and loc.filters is None} | {404}):
        lines.append(f'            if ($gw_target = "{status}") {{ return {status}; }}')
    lines += jumps
    lines.append("            proxy_pass http://$gw_target;")
    lines.append("        }")
    return lines


def _locations(server: Server) -> list[str]:
    groups: dict[tuple[str, str], list[Location]] = {}
    for loc in server.locations:
        groups.setdefault((loc.match, loc.path), []).append(loc)
    lines: list[str] = []
    internal: list[list[str]] = []
    for group in groups.values():
        if len(group) == 1 and not group[0].when:
            lines += _location(group[0], server)
        else:
            lines += _conditional(group, server, internal)
    return lines + [line for block in internal for line in block]


def _server(server: Server) -> list[str]:
    port = server.port
    listen = f"{port}{' ssl' if server.certificate else ''}{' default_server' if server.host == CATCH_ALL else ''}"
    lines = [
        f"    # host {server.host}" if server.host != CATCH_ALL else "    # rules without a host, and every host no server names",
        "    server {",
        f"        listen {listen};",
        f"        server_name {_server_name(server.host)};",
    ]
    if server.certificate:
        # TLS ends here (the Secret's tls.crt and tls.key, written for the controller pods).
        lines += [f"        ssl_certificate {nginx_string(server.certificate + '.crt')};",
                  f"        ssl_certificate_key {nginx_string(server.certificate + '.key')};"]
    lines += _locations(server)
    lines.append("    }")
    return lines


def render(routes: Routes, paths: NginxPaths) -> str:
    tmp = paths.temp
    out = [
        "# Generated by netlab's ingress controller from the Ingress objects; do not edit.",
        f"# Serving: {', '.join(routes.ingresses) or '(no Ingress)'}",
        "daemon off;",
        "worker_processes 1;",
        f"pid {paths.pid};",
        f"error_log {paths.error_log} notice;",
        "",
        "events {",
        "    worker_connections 1024;",
        "}",
        "",
        "http {",
        f"    client_body_temp_path {tmp}/client_body;",
        f"    proxy_temp_path {tmp}/proxy;",
        f"    fastcgi_temp_path {tmp}/fastcgi;",
        f"    uwsgi_temp_path {tmp}/uwsgi;",
        f"    scgi_temp_path {tmp}/scgi;",
        "    server_names_hash_bucket_size 128;",
        "    server_tokens off;",
        "",
        "    log_format upstreaminfo '$remote_addr - [$time_local] \"$request\" $status '",
        "                            'host=$host ingress=$ingress_name upstream=$upstream_addr';",
        f"    access_log {paths.access_log} upstreaminfo;",
        "",
        "    # As ingress-nginx: the original Host, and the client's address appended to",
        "    # X-Forwarded-For, reach the backend pod.",
        "    proxy_http_version 1.1;",
        *(f"    proxy_set_header {name} {value};" for name, value in rule_filters.PROXY_HEADERS),
        "    proxy_connect_timeout 5s;",
        "    proxy_next_upstream error timeout;",
        "    map $host $ingress_name { default \"\"; }",
        "    geo $netlab_dollar { default \"$\"; }",
        "",
    ]
    with_filters = [loc.filters for server in routes.servers for loc in server.locations if loc.filters is not None]
    maps = rule_filters.add_maps(with_filters)
    if maps:
        out += ["    # RequestHeaderModifier add: the client's value, with the route's appended", *maps, ""]
    for up in routes.upstreams:
        out.append(f"    upstream {up.name} {{")
        weights = up.weights or (1,) * len(up.endpoints)
        out += [f"        server {member}{f' weight={w}' if w != 1 else ''};" for member, w in zip(up.endpoints, weights)]
        out.append("    }")
        out.append("")
    for server in routes.servers:
        out += _server(server)
        out.append("")
    out.append("}")
    return "\n".join(out) + "\n"
