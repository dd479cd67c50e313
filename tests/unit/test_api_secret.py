"""v1 Secret and v1beta1 ReferenceGrant as the apiserver and the Gateway API CRD check them."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from netlab.api.field import problems_from_validation_error
from netlab.api.referencegrant import ReferenceGrant
from netlab.api.secret import Secret


def secret(**fields) -> Secret:
    return Secret.model_validate({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, **fields})


def problems(**fields) -> list[str]:
    with pytest.raises(ValidationError) as info:
        secret(**fields)
    return [str(p) for p in problems_from_validation_error(info.value)]


def test_string_data_is_written_into_data_and_wins():
    s = secret(data={"a": "b2xk"}, stringData={"a": "new", "b": "x"})
    assert s.to_dict()["data"] == {"a": "bmV3", "b": "eA=="}
    assert "stringData" not in s.to_dict()
    assert s.type == "Opaque" and s.value("a") == b"new"


def test_data_must_be_base64_and_keys_config_keys():
    assert problems(data={"k": "not base64!"}) == ['data[k]: Invalid value: "<secret data>": illegal base64 data at input byte 3']
    assert problems(data={"bad key": "eA=="})[0].startswith('data[bad key]: Invalid value: "bad key": a valid config key')


def test_a_tls_secret_needs_the_certificate_and_the_key():
    assert problems(type="kubernetes.io/tls", stringData={"tls.crt": "x"}) == ["data[tls.key]: Required value"]


def test_a_reference_grant_allows_what_it_names():
    grant = ReferenceGrant.model_validate({
        "apiVersion": "gateway.networking.k8s.io/v1beta1", "kind": "ReferenceGrant", "metadata": {"name": "g", "namespace": "team"},
        "spec": {"from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": "default"}],
                 "to": [{"group": "", "kind": "Service", "name": "other"}]}})
    assert grant.allows("gateway.networking.k8s.io", "HTTPRoute", "default", "", "Service", "other")
    assert not grant.allows("gateway.networking.k8s.io", "HTTPRoute", "default", "", "Service", "else")
    assert not grant.allows("gateway.networking.k8s.io", "HTTPRoute", "elsewhere", "", "Service", "other")
    assert grant.to_dict()["spec"]["from"][0]["namespace"] == "default"  # dumped as `from`, not `from_`
