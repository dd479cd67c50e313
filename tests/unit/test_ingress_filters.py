"""HTTPRoute filters (RequestHeaderModifier, RequestRedirect, URLRewrite): the CRD's checks, and
the nginx they become, pinned by a golden file that a real `nginx -t` accepts.

    NETLAB_UPDATE_GOLDEN=1 pytest tests/unit/test_ingress_filters.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from pydantic import ValidationError

from netlab.api.field import problems_from_validation_error
from netlab.api.gateway import HTTPRoute
from netlab.ingress.filters import Filters, _redirect_url
from netlab.ingress.gateway import build_gateway_routes
from netlab.ingress.render import NginxPaths, render
from netlab.ingress.routes import Routes
from test_ingress_gateway import CLASS, HTTP, SERVICES, gateway, route
from test_ingress_render import GOLDEN

FILTERED = route({
    "parentRefs": [{"name": "gw"}],
    "hostnames": ["f.example"],
    "rules": [
        {"matches": [{"path": {"type": "PathPrefix", "value": "/headers"}}],
         "filters": [{"type": "RequestHeaderModifier", "requestHeaderModifier": {
             "set": [{"name": "X-Set", "value": "one $two"}], "add": [{"name": "X-Add", "value": "extra"}],
             "remove": ["X-Drop"]}}],
         "backendRefs": [{"name": "v1", "port": 80}]},
        {"matches": [{"path": {"type": "PathPrefix", "value": "/old"}}],
         "filters": [{"type": "RequestRedirect", "requestRedirect": {
             "path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/new"}, "statusCode": 301}}]},
        {"matches": [{"path": {"type": "Exact", "value": "/secure"}}],
         "filters": [{"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "hostname": "s.example"}}]},
        {"matches": [{"path": {"type": "PathPrefix", "value": "/api"}}],
         "filters": [{"type": "URLRewrite", "urlRewrite": {
             "hostname": "internal.example", "path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}}}],
         "backendRefs": [{"name": "v2", "port": 80}]},
        {"matches": [{"path": {"type": "PathPrefix", "value": "/"}, "headers": [{"name": "X-Full", "value": "1"}]}],
         "filters": [{"type": "URLRewrite", "urlRewrite": {"path": {"type": "ReplaceFullPath", "replaceFullPath": "/header"}}}],
         "backendRefs": [{"name": "v2", "port": 80}]},
        {"backendRefs": [{"name": "v1", "port": 80}]},
    ],
})


def problems(spec: dict) -> list[str]:
    with pytest.raises(ValidationError) as info:
        HTTPRoute.model_validate({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": "r"},
                                  "spec": spec})
    return [str(p) for p in problems_from_validation_error(info.value)]


def test_the_crd_rules_on_filters():
    assert problems({"rules": [{"filters": [{"type": "RequestRedirect"}]}]}) == [
        "spec.rules[0].filters[0]: Invalid value: \"\": filter.requestRedirect must be specified for RequestRedirect filter.type"]
    assert problems({"rules": [{"filters": [
        {"type": "RequestRedirect", "requestRedirect": {}}, {"type": "URLRewrite", "urlRewrite": {}}]}]}) == [
        "spec.rules[0].filters: Invalid value: \"\": May specify either httpRouteFilterRequestRedirect or "
        "httpRouteFilterRequestRewrite, but not both"]
    assert problems({"rules": [{"matches": [{"path": {"type": "Exact", "value": "/a"}}], "filters": [
        {"type": "URLRewrite", "urlRewrite": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/b"}}}]}]}) == [
        "spec.rules[0].filters: Invalid value: \"\": When using URLRewrite filter with path.replacePrefixMatch, "
        "exactly one PathPrefix match must be specified"]
    assert problems({"rules": [{"filters": [{"type": "RequestRedirect", "requestRedirect": {"statusCode": 307}}]}]}) == [
        'spec.rules[0].filters[0].requestRedirect.statusCode: Unsupported value: 307: supported values: "301", "302"']
    assert problems({"rules": [{"filters": [{"type": "RequestHeaderModifier", "requestHeaderModifier": {
        "set": [{"name": "a", "value": "1"}, {"name": "A", "value": "2"}]}}]}]}) == [
        'spec.rules[0].filters[0].requestHeaderModifier.set[1].name: Duplicate value: "A"']


def test_the_redirect_port_follows_the_spec():
    # (scheme, hostname, port, status, path type, path)
    assert _redirect_url(("", "", 0, 302, "", ""), 80, "http") == "http://$host"
    assert _redirect_url(("", "", 0, 302, "", ""), 8080, "http") == "http://$host:8080"
    assert _redirect_url(("https", "", 0, 302, "", ""), 8080, "http") == "https://$host"
    assert _redirect_url(("https", "a.example", 8443, 302, "", ""), 80, "http") == "https://a.example:8443"


def test_a_redirect_rule_needs_no_backend_and_the_filters_survive_the_snapshot():
    result = build_gateway_routes([CLASS], [gateway([HTTP])], [FILTERED], SERVICES)
    server = next(s for s in result.routes.servers if s.host == "f.example")
    old = [loc for loc in server.locations if loc.path.startswith("/old")]
    assert [(loc.status, loc.filters.redirect[3]) for loc in old] == [(0, 301), (0, 301)]
    assert Routes.from_json(result.routes.to_json()) == result.routes
    assert isinstance(old[0].filters, Filters)


def test_filters_nginx_conf_golden_and_real_nginx_accepts_it(tmp_path):
    routes = build_gateway_routes([CLASS], [gateway([HTTP])], [FILTERED], SERVICES).routes
    text = render(routes, NginxPaths("/run/pod/nginx"))
    golden = GOLDEN / "filters.conf"
    if os.environ.get("NETLAB_UPDATE_GOLDEN") == "1":
        golden.write_text(text)
    assert text == golden.read_text()
    if shutil.which("nginx") is None:
        return
    paths = NginxPaths(str(tmp_path))
    (tmp_path / "tmp").mkdir()
    Path(paths.conf).write_text(render(routes, paths))
    done = subprocess.run(["nginx", "-t", "-q", "-p", str(tmp_path), "-e", paths.error_log, "-c", paths.conf], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
