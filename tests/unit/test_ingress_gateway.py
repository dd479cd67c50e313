"""Gateway API -> routes -> nginx.conf: attachment, hostname intersection, header/query
matches with the spec's precedence, weighted backends, route status; pinned by a golden file."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from pydantic import ValidationError

from netlab.api.field import problems_from_validation_error
from netlab.api.gateway import Gateway, GatewayClass, HTTPRoute
from netlab.ingress.gateway import Stored, _weighted_members, build_gateway_routes, intersect
from netlab.ingress.render import NginxPaths, render
from test_ingress_render import GOLDEN, service

CLASS = GatewayClass.model_validate({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass", "metadata": {"name": "nginx"},
                                     "spec": {"controllerName": "gateway.nginx.org/nginx-gateway-controller"}})
SERVICES = [service("v1", 80, 8080, ["10.244.1.5", "10.244.2.7"]), service("v2", 80, 8080, ["10.244.1.6"])]


def gateway(listeners: list[dict], name: str = "gw") -> Stored:
    return Stored(Gateway.model_validate({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
                                          "metadata": {"name": name, "namespace": "default"},
                                          "spec": {"gatewayClassName": "nginx", "listeners": listeners}}), 1.0)


def route(spec: dict, name: str = "r", namespace: str = "default", created: float = 2.0) -> Stored:
    return Stored(HTTPRoute.model_validate({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
                                            "metadata": {"name": name, "namespace": namespace}, "spec": spec}), created)


HTTP = {"name": "http", "port": 80, "protocol": "HTTP"}
CANARY = route({
    "parentRefs": [{"name": "gw"}],
    "hostnames": ["app.example"],
    "rules": [
        {"matches": [{"path": {"type": "PathPrefix", "value": "/"}, "headers": [{"name": "X-Canary", "value": "yes"}]}],
         "backendRefs": [{"name": "v2", "port": 80}]},
        {"matches": [{"path": {"type": "PathPrefix", "value": "/"}, "queryParams": [{"name": "v", "value": "2"}]}],
         "backendRefs": [{"name": "v2", "port": 80}]},
        {"backendRefs": [{"name": "v1", "port": 80, "weight": 80}, {"name": "v2", "port": 80, "weight": 20}]},
    ],
})


def test_defaults_of_the_crds():
    r = CANARY.obj
    assert r.spec.rules[2].matches[0].path.type == "PathPrefix" and r.spec.rules[2].matches[0].path.value == "/"
    assert r.spec.parentRefs[0].kind == "Gateway"


def test_a_service_backend_needs_a_port_and_listener_names_are_unique():
    with pytest.raises(ValidationError) as info:
        HTTPRoute.model_validate({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": "r"},
                                  "spec": {"rules": [{"backendRefs": [{"name": "v1"}]}]}})
    assert [str(p) for p in problems_from_validation_error(info.value)] == [
        "spec.rules[0].backendRefs[0].port: Required value: Must have port for Service reference"]
    with pytest.raises(ValidationError) as info:
        gateway([HTTP, HTTP])
    assert [str(p) for p in problems_from_validation_error(info.value)] == ['spec.listeners[1].name: Duplicate value: "http"']


def test_hostname_intersection():
    assert intersect("foo.example.com", "*.example.com") == "foo.example.com"
    assert intersect("*.example.com", "foo.example.com") == "foo.example.com"
    assert intersect("foo.example.org", "*.example.com") is None
    assert intersect(None, "a.example") == "a.example"


def test_weights_are_shared_by_each_backends_pods():
    # v1: weight 80 over two pods, v2: weight 20 over one -> 40, 40, 20 -> 2, 2, 1
    assert _weighted_members([(80, ["a", "b"]), (20, ["c"])]) == (("a", "b", "c"), (2, 2, 1))
    assert _weighted_members([(0, ["a"]), (1, ["c"])]) == (("c",), (1,))


def test_precedence_puts_header_matches_first_and_status_names_the_reason():
    result = build_gateway_routes([CLASS], [gateway([HTTP])], [CANARY, route({"parentRefs": [{"name": "nope"}]}, "lost")], SERVICES)
    server = next(s for s in result.routes.servers if s.host == "app.example")
    assert [loc.when for loc in server.locations] == [(("header", "X-Canary", "yes"),), (("query", "v", "2"),), ()]
    (parent,) = result.route_status[("default", "lost")]
    assert parent["conditions"][0]["reason"] == "NoMatchingParent"


def test_routes_from_another_namespace_need_the_listener_to_allow_them():
    other = route({"parentRefs": [{"name": "gw", "namespace": "default"}], "rules": [{"backendRefs": [{"name": "v1", "port": 80}]}]},
                  namespace="team")
    result = build_gateway_routes([CLASS], [gateway([HTTP])], [other], SERVICES)
    assert result.route_status[("team", "r")][0]["conditions"][0]["reason"] == "NotAllowedByListeners"


def test_a_cross_namespace_backend_is_refused_without_a_reference_grant():
    r = route({"parentRefs": [{"name": "gw"}], "rules": [{"backendRefs": [{"name": "v1", "namespace": "other", "port": 80}]}]})
    result = build_gateway_routes([CLASS], [gateway([HTTP])], [r], SERVICES)
    resolved = result.route_status[("default", "r")][0]["conditions"][1]
    assert (resolved["status"], resolved["reason"]) == ("False", "RefNotPermitted")
    catch_all = next(s for s in result.routes.servers if s.host == "_")
    assert [(loc.path, loc.status) for loc in catch_all.locations] == [("/", 500)]


def test_gateway_nginx_conf_golden_and_real_nginx_accepts_it(tmp_path):
    routes = build_gateway_routes([CLASS], [gateway([HTTP])], [CANARY], SERVICES).routes
    text = render(routes, NginxPaths("/run/pod/nginx"))
    golden = GOLDEN / "gateway.conf"
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


def test_a_rule_with_an_empty_match_list_matches_everything():
    r = route({"parentRefs": [{"name": "gw"}], "rules": [{"matches": [], "backendRefs": [{"name": "v1", "port": 80}]}]})
    result = build_gateway_routes([CLASS], [gateway([HTTP])], [r], SERVICES)
    catch_all = next(s for s in result.routes.servers if s.host == "_")
    assert [(loc.path, loc.upstream) for loc in catch_all.locations] == [("/", "default-r-rule0")]


def test_a_reference_grant_in_the_backends_namespace_lets_the_route_use_it():
    from netlab.api.referencegrant import ReferenceGrant
    from test_ingress_render import service as make_service

    from dataclasses import replace

    other = make_service("v1", 80, 8080, ["10.244.3.3"])
    other = replace(other, obj=replace(other.obj, namespace="team"))  # team/v1
    grant = ReferenceGrant.model_validate({
        "apiVersion": "gateway.networking.k8s.io/v1beta1", "kind": "ReferenceGrant", "metadata": {"name": "g", "namespace": "team"},
        "spec": {"from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": "default"}],
                 "to": [{"group": "", "kind": "Service"}]}})
    r = route({"parentRefs": [{"name": "gw"}], "rules": [{"backendRefs": [{"name": "v1", "namespace": "team", "port": 80}]}]})
    result = build_gateway_routes([CLASS], [gateway([HTTP])], [r], [*SERVICES, other], [grant])
    assert result.route_status[("default", "r")][0]["conditions"][1]["status"] == "True"
    assert result.routes.upstreams[0].endpoints == ("10.244.3.3:8080",)


def test_an_https_listener_without_its_secret_is_not_programmed_and_the_others_serve():
    https = {"name": "https", "port": 443, "protocol": "HTTPS", "tls": {"certificateRefs": [{"name": "missing"}]}}
    ok = {"name": "tls", "port": 443, "protocol": "HTTPS", "hostname": "s.example", "tls": {"certificateRefs": [{"name": "cert"}]}}
    result = build_gateway_routes([CLASS], [gateway([HTTP, https, ok])], [CANARY], SERVICES, (), {("default", "cert"): "/certs/c"})
    listeners = {lst["name"]: lst for lst in result.listener_status[("default", "gw")]}
    assert [c["reason"] for c in listeners["https"]["conditions"]] == ["Accepted", "InvalidCertificateRef", "Invalid"]
    assert listeners["tls"]["conditions"][2]["status"] == "True"
    assert listeners["http"]["attachedRoutes"] == 1
    assert {(s.port, s.certificate) for s in result.routes.servers} == {(80, ""), (443, "/certs/c")}
