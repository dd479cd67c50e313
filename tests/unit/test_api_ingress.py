"""networking.k8s.io/v1 Ingress and IngressClass: the apiserver's validation, with field paths."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from netlab.api.field import problems_from_validation_error
from netlab.api.ingress import Ingress, IngressClass, host_errors
from netlab.api.kinds import lookup, object_from_dict


def ingress(spec: dict) -> dict:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "shop", "namespace": "default"}, "spec": spec}


def backend(name: str = "cart", number: int | None = 80, port_name: str | None = None) -> dict:
    port = {}
    if number is not None:
        port["number"] = number
    if port_name is not None:
        port["name"] = port_name
    return {"service": {"name": name, "port": port}}


def rule(path: dict, host: str | None = "shop.example") -> dict:
    r = {"http": {"paths": [path]}}
    if host is not None:
        r["host"] = host
    return r


def problems(data: dict, model=Ingress) -> list[str]:
    with pytest.raises(ValidationError) as info:
        model.model_validate(data)
    return [str(p) for p in problems_from_validation_error(info.value)]


def test_a_valid_ingress_round_trips():
    data = ingress({"ingressClassName": "nginx", "rules": [rule({"path": "/cart", "pathType": "Prefix", "backend": backend()})]})
    obj = object_from_dict(data)
    assert obj.to_dict() == data


def test_path_type_is_required():
    assert problems(ingress({"rules": [rule({"path": "/", "backend": backend()})]})) == [
        "spec.rules[0].http.paths[0].pathType: Required value: pathType must be specified"
    ]


def test_path_type_must_be_one_of_three():
    assert problems(ingress({"rules": [rule({"path": "/", "pathType": "Regex", "backend": backend()})]})) == [
        'spec.rules[0].http.paths[0].pathType: Unsupported value: "Regex": supported values: '
        '"Exact", "ImplementationSpecific", "Prefix"'
    ]


@pytest.mark.parametrize(("path", "message"), [
    ("cart", 'Invalid value: "cart": must be an absolute path'),
    ("/a//b", "Invalid value: \"/a//b\": must not contain '//'"),
    ("/a/..", "Invalid value: \"/a/..\": cannot end with '/..'"),
])
def test_exact_and_prefix_paths_are_clean_absolute_paths(path, message):
    assert problems(ingress({"rules": [rule({"path": path, "pathType": "Exact", "backend": backend()})]})) == [
        f"spec.rules[0].http.paths[0].path: {message}"
    ]


def test_backend_needs_a_port_name_or_number_but_not_both():
    assert problems(ingress({"defaultBackend": backend(number=None)})) == [
        'spec.defaultBackend.service.port: Invalid value: "": port name or number is required'
    ]
    assert problems(ingress({"defaultBackend": backend(number=80, port_name="http")})) == [
        'spec.defaultBackend.service.port: Invalid value: "": cannot set both port name & port number'
    ]
    assert problems(ingress({"defaultBackend": backend(number=70000)})) == [
        "spec.defaultBackend.service.port.number: Invalid value: 70000: must be between 1 and 65535, inclusive"
    ]


def test_backend_service_name_is_required():
    assert problems(ingress({"defaultBackend": {"service": {"port": {"number": 80}}}})) == [
        "spec.defaultBackend.service.name: Required value"
    ]


def test_rules_or_default_backend_must_be_given():
    assert problems(ingress({})) == ['spec: Invalid value: "": either `defaultBackend` or `rules` must be specified']


def test_a_rule_with_http_needs_paths():
    assert problems(ingress({"rules": [{"host": "a.example", "http": {"paths": []}}]})) == [
        "spec.rules[0].http.paths: Required value"
    ]


def test_hosts_exact_and_wildcard_but_never_an_ip():
    assert host_errors("shop.example") == []
    assert host_errors("*.example") == []
    assert host_errors("10.0.0.1") == ["must be a DNS name, not an IP address"]
    assert host_errors("*.*.example")
    assert host_errors("a.*.example")
    assert problems(ingress({"rules": [rule({"path": "/", "pathType": "Prefix", "backend": backend()}, host="Shop.example")]}))[0].startswith(
        'spec.rules[0].host: Invalid value: "Shop.example"'
    )


def test_ingress_class_needs_a_domain_prefixed_controller():
    good = {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass", "metadata": {"name": "nginx"},
            "spec": {"controller": "k8s.io/ingress-nginx"}}
    assert IngressClass.model_validate(good).spec.controller == "k8s.io/ingress-nginx"
    bad = {**good, "spec": {"controller": "nginx"}}
    assert problems(bad, IngressClass) == [
        'spec.controller: Invalid value: "nginx": must be a domain-prefixed path (such as "acme.io/foo")'
    ]


def test_kubectl_spellings():
    assert lookup("ing").kind == "Ingress"
    assert lookup("ingresses.networking.k8s.io").kind == "Ingress"
    assert lookup("ingressclass").kind == "IngressClass"
    assert not lookup("ingressclasses").namespaced
