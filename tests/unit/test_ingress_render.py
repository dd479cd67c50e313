"""Ingress objects -> routes -> nginx.conf: the spec's matching rules, pinned by golden files.

    NETLAB_UPDATE_GOLDEN=1 pytest tests/unit/test_ingress_render.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from netlab.api.ingress import Ingress, IngressClass
from netlab.api.models import Service
from netlab.apiserver.store import StoredObject
from netlab.controllers.endpoints import Backend, PortEndpoints, ServiceEndpoints
from netlab.ingress.render import NginxPaths, render
from netlab.ingress.routes import CATCH_ALL, IngressInput, Routes, build_routes

GOLDEN = Path(__file__).parent / "golden" / "ingress"
NGINX_CLASS = IngressClass.model_validate({
    "apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
    "metadata": {"name": "nginx", "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"}},
    "spec": {"controller": "k8s.io/ingress-nginx"},
})
OTHER_CLASS = IngressClass.model_validate({
    "apiVersion": "networking.k8s.io/v1", "kind": "IngressClass", "metadata": {"name": "traefik"},
    "spec": {"controller": "traefik.io/ingress-controller"},
})


def service(name: str, port: int, target: int, ips: list[str], port_name: str = "http") -> ServiceEndpoints:
    manifest = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "default"},
                "spec": {"selector": {"app": name}, "ports": [{"name": port_name, "port": port, "targetPort": target}]}}
    obj = StoredObject("Service", "default", name, "uid-" + name, 0.0, manifest, {})
    backends = tuple(Backend(ip, target, "node-a", f"default/{name}-{i}", True, None) for i, ip in enumerate(ips))
    return ServiceEndpoints(obj, Service.model_validate(manifest), "10.96.0.50", (PortEndpoints(port_name, "TCP", port, backends),))


SERVICES = [
    service("cart", 80, 8080, ["10.244.1.5", "10.244.2.7"]),
    service("shop", 80, 8080, ["10.244.1.6"]),
    service("fallback", 8080, 80, ["10.244.2.9"], port_name="web"),
    service("empty", 80, 80, []),
]


def ing(name: str, spec: dict, created: float = 1.0) -> IngressInput:
    data = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": name, "namespace": "default"}, "spec": spec}
    return IngressInput(Ingress.model_validate(data), created)


def path(p: str, kind: str, svc: str, port: int | str = 80) -> dict:
    number = {"number": port} if isinstance(port, int) else {"name": port}
    return {"path": p, "pathType": kind, "backend": {"service": {"name": svc, "port": number}}}


SHOP = ing("shop", {
    "ingressClassName": "nginx",
    "defaultBackend": {"service": {"name": "fallback", "port": {"name": "web"}}},
    "rules": [
        {"host": "shop.example", "http": {"paths": [
            path("/cart", "Prefix", "cart"), path("/", "Prefix", "shop"), path("/checkout", "Exact", "cart"),
            path("/empty", "Prefix", "empty"), path("/gone", "Prefix", "missing"),
        ]}},
        {"host": "*.shop.example", "http": {"paths": [path("/", "Prefix", "shop")]}},
        {"http": {"paths": [path("/legacy", "ImplementationSpecific", "shop")]}},
    ],
})


def routes_for(*items: IngressInput) -> Routes:
    return build_routes(list(items), [NGINX_CLASS, OTHER_CLASS], SERVICES)


def server(routes: Routes, host: str):
    return next(s for s in routes.servers if s.host == host)


def test_prefix_is_element_wise_and_exact_wins():
    routes = routes_for(ing("a", {"rules": [{"host": "a.example", "http": {"paths": [
        path("/foo/", "Prefix", "shop"), path("/foo", "Exact", "cart")]}}]}))
    locs = {(loc.match, loc.path): loc.upstream for loc in server(routes, "a.example").locations}
    assert locs[("exact", "/foo")] == "default-cart-80"  # Exact beats the Prefix on the same path
    assert locs[("prefix", "/foo/")] == "default-shop-80"  # trailing slash ignored, /foobar not matched
    assert ("prefix", "/foo") not in locs


def test_nothing_matches_is_404_without_a_default_backend():
    routes = routes_for(ing("a", {"rules": [{"host": "a.example", "http": {"paths": [path("/x", "Exact", "shop")]}}]}))
    fallback = [loc for loc in server(routes, "a.example").locations if loc.path == "/"]
    assert [(loc.upstream, loc.status) for loc in fallback] == [(None, 404)]
    assert [(loc.upstream, loc.status) for loc in server(routes, CATCH_ALL).locations] == [(None, 404)]


def test_older_ingress_wins_a_conflicting_path():
    routes = routes_for(ing("new", {"rules": [{"host": "a.example", "http": {"paths": [path("/", "Prefix", "cart")]}}]}, created=2),
                        ing("old", {"rules": [{"host": "a.example", "http": {"paths": [path("/", "Prefix", "shop")]}}]}, created=1))
    assert [loc.source for loc in server(routes, "a.example").locations] == ["default/old"]


def test_only_ingresses_of_an_nginx_class_are_served():
    mine = ing("mine", {"rules": [{"host": "a.example", "http": {"paths": [path("/", "Prefix", "shop")]}}]})
    theirs = ing("theirs", {"ingressClassName": "traefik", "rules": [{"host": "b.example", "http": {"paths": [path("/", "Prefix", "shop")]}}]})
    assert routes_for(mine, theirs).ingresses == ("default/mine",)  # mine: no class, nginx is the default
    assert build_routes([mine], [OTHER_CLASS], SERVICES).ingresses == ()


def test_backend_without_endpoints_or_service_answers_503():
    locs = {loc.path: loc for loc in server(routes_for(SHOP), "shop.example").locations}
    assert (locs["/empty/"].upstream, locs["/empty/"].status) == (None, 503)
    assert (locs["/gone/"].upstream, locs["/gone/"].status) == (None, 503)


def test_routes_survive_the_snapshot_round_trip():
    routes = routes_for(SHOP)
    assert Routes.from_json(routes.to_json()) == routes


def test_nginx_conf_golden():
    text = render(routes_for(SHOP), NginxPaths("/run/pod/nginx"))
    golden = GOLDEN / "shop.conf"
    if os.environ.get("NETLAB_UPDATE_GOLDEN") == "1":
        golden.write_text(text)
    assert golden.exists(), f"{golden} is missing; run with NETLAB_UPDATE_GOLDEN=1 to create it"
    assert text == golden.read_text()


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed (scripts/setup.sh installs it)")
def test_real_nginx_accepts_the_rendered_config(tmp_path):
    paths = NginxPaths(str(tmp_path))
    (tmp_path / "tmp").mkdir()
    Path(paths.conf).write_text(render(routes_for(SHOP), paths))
    done = subprocess.run(["nginx", "-t", "-q", "-p", str(tmp_path), "-e", paths.error_log, "-c", paths.conf],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_a_path_cannot_inject_configuration(tmp_path):
    from netlab.ingress.render import nginx_string

    assert nginx_string("/cart") == "/cart"
    assert nginx_string('/a;} x "y') == '"/a;} x \\"y"'
    if shutil.which("nginx") is None:
        return
    paths = NginxPaths(str(tmp_path))
    (tmp_path / "tmp").mkdir()
    evil = ing("evil", {"rules": [{"host": "a.example", "http": {"paths": [path('/a;} server { listen 81; } #"x', "ImplementationSpecific", "shop")]}}]})
    Path(paths.conf).write_text(render(routes_for(evil), paths))
    done = subprocess.run(["nginx", "-t", "-q", "-p", str(tmp_path), "-e", paths.error_log, "-c", paths.conf], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "listen 81;" not in [line.strip() for line in Path(paths.conf).read_text().splitlines()]


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed (scripts/setup.sh installs it)")
def test_a_config_that_fails_nginx_t_is_reported_and_not_put_in_place(tmp_path):
    from netlab.ingress.controller import check_config

    paths = NginxPaths(str(tmp_path))
    (tmp_path / "tmp").mkdir()
    Path(paths.conf).write_text("the last good config\n")
    candidate, outcome = check_config(paths, "events {}\nhttp { server { listen 80; bogus_directive on; } }\n")
    assert not outcome.ok
    assert 'unknown directive "bogus_directive"' in outcome.error
    assert Path(paths.conf).read_text() == "the last good config\n"


def test_a_snapshot_with_fields_from_a_newer_netlab_still_reads():
    import json

    data = json.loads(routes_for(SHOP).to_json())
    data["servers"][0]["locations"][0]["added_later"] = "x"
    assert Routes.from_json(json.dumps(data)) == routes_for(SHOP)


def test_the_request_choice_trace_follows_is_nginxs():
    from netlab.ingress.routes import choose_location, choose_server

    routes = routes_for(SHOP)
    shop = choose_server(routes, 80, "Shop.Example:80")
    assert shop.host == "shop.example"
    assert choose_server(routes, 80, "eu.shop.example").host == "*.shop.example"
    assert choose_server(routes, 80, "a.eu.shop.example").host == CATCH_ALL  # one label only
    assert choose_server(routes, 8080, "shop.example") is None
    assert choose_location(shop, "/cart").upstream == "default-cart-80"  # location = /cart
    assert choose_location(shop, "/cart/7").upstream == "default-cart-80"  # location /cart/
    assert choose_location(shop, "/cartography").upstream == "default-shop-80"  # location /
    assert choose_location(shop, "/checkout").match == "exact"
