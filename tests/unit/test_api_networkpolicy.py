"""networking.k8s.io/v1 NetworkPolicy: upstream's defaulting, validation and round trip."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from pydantic import ValidationError

from netlab.api import NetworkPolicy, load_manifests, obj_key, object_from_dict
from netlab.api.field import problems_from_validation_error
from netlab.errors import InvalidInput


def policy(spec: dict | None = None, name: str = "p") -> dict:
    data = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": name, "namespace": "x"}}
    if spec is not None:
        data["spec"] = spec
    return data


def problems(data: dict) -> list[str]:
    with pytest.raises(ValidationError) as info:
        NetworkPolicy.model_validate(data)
    return [str(p) for p in problems_from_validation_error(info.value)]


# --- defaulting --------------------------------------------------------------------------------


def test_policy_types_default_to_ingress_only_without_egress_rules():
    assert NetworkPolicy.model_validate(policy({"podSelector": {}})).spec.policyTypes == ["Ingress"]


def test_policy_types_default_to_both_when_egress_rules_are_given():
    np = NetworkPolicy.model_validate(policy({"podSelector": {}, "egress": [{}]}))
    assert np.spec.policyTypes == ["Ingress", "Egress"]


def test_an_empty_egress_list_does_not_make_egress_isolating():
    np = NetworkPolicy.model_validate(policy({"podSelector": {}, "egress": []}))
    assert np.spec.policyTypes == ["Ingress"]


def test_explicit_policy_types_are_kept():
    np = NetworkPolicy.model_validate(policy({"podSelector": {}, "policyTypes": ["Egress"]}))
    assert np.spec.isolates_egress and not np.spec.isolates_ingress


def test_a_policy_without_spec_selects_every_pod_and_isolates_ingress():
    np = NetworkPolicy.model_validate(policy())
    assert np.spec.podSelector.selector().empty
    assert np.spec.policyTypes == ["Ingress"]


# --- selectors ---------------------------------------------------------------------------------


def test_match_labels_and_expressions_become_one_selector_sorted_by_key():
    np = NetworkPolicy.model_validate(
        policy(
            {
                "podSelector": {
                    "matchLabels": {"pod": "a"},
                    "matchExpressions": [
                        {"key": "tier", "operator": "In", "values": ["web", "api"]},
                        {"key": "canary", "operator": "DoesNotExist"},
                        {"key": "env", "operator": "NotIn", "values": ["prod"]},
                        {"key": "app", "operator": "Exists"},
                    ],
                }
            }
        )
    )
    selector = np.spec.podSelector.selector()
    assert str(selector) == "app,!canary,env notin (prod),pod=a,tier in (api,web)"
    assert selector.matches({"app": "x", "pod": "a", "tier": "web"})
    assert not selector.matches({"app": "x", "pod": "a", "tier": "web", "canary": "1"})
    assert not selector.matches({"app": "x", "pod": "a", "tier": "db"})
    assert not selector.matches({"pod": "a", "tier": "web"})
    assert not selector.matches({"app": "x", "pod": "a", "tier": "web", "env": "prod"})


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ({"key": "a", "operator": "In"}, "spec.podSelector.matchExpressions[0].values: Required value"),
        ({"key": "a", "operator": "Exists", "values": ["x"]}, "spec.podSelector.matchExpressions[0].values: Forbidden"),
        ({"key": "a", "operator": "Equals", "values": ["x"]}, 'matchExpressions[0].operator: Unsupported value: "Equals"'),
        ({"key": "a b", "operator": "Exists"}, 'matchExpressions[0].key: Invalid value: "a b"'),
        ({"key": "a", "operator": "In", "values": ["no spaces"]}, "matchExpressions[0].values[0]: Invalid value"),
    ],
)
def test_bad_selector_expressions_are_refused_with_their_field_path(expression, message):
    found = problems(policy({"podSelector": {"matchExpressions": [expression]}}))
    assert any(message in p for p in found), found


# --- peers, ports, ipBlock ---------------------------------------------------------------------


def test_a_peer_must_name_something():
    assert problems(policy({"ingress": [{"from": [{}]}]})) == ["spec.ingress[0].from[0]: Required value: must specify a peer"]


def test_ip_block_cannot_be_combined_with_selectors():
    found = problems(policy({"egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/8"}, "podSelector": {}}]}]}))
    assert found == ["spec.egress[0].to[0]: Forbidden: may not specify both ipBlock and another peer"]


def test_pod_and_namespace_selector_in_one_peer_is_allowed():
    np = NetworkPolicy.model_validate(
        policy({"ingress": [{"from": [{"podSelector": {"matchLabels": {"pod": "a"}}, "namespaceSelector": {}}]}]})
    )
    peer = np.spec.ingress[0].from_[0]
    assert peer.podSelector is not None and peer.namespaceSelector is not None


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ({"cidr": "10.0.0.0/33"}, 'cidr: Invalid value: "10.0.0.0/33": must be a valid CIDR'),
        ({"cidr": "fd00::/64", "except": ["10.0.0.0/24"]}, "must be a strict subset of `cidr`"),
        ({"cidr": "10.0.0.0/16", "except": ["10.1.0.0/24"]}, 'except[0]: Invalid value: "10.1.0.0/24": must be a strict subset of `cidr`'),
        ({"cidr": "10.0.0.0/16", "except": ["10.0.0.0/16"]}, "must be a strict subset of `cidr`"),
        ({"cidr": "10.0.0.0/16", "except": ["nope"]}, "except[0]: Invalid value: \"nope\": must be a valid CIDR"),
    ],
)
def test_bad_ip_blocks_are_refused(block, message):
    found = problems(policy({"ingress": [{"from": [{"ipBlock": block}]}]}))
    assert any(message in p for p in found), found


def test_ip_block_takes_ipv6_as_upstream_does():
    np = NetworkPolicy.model_validate(policy({"ingress": [{"from": [{"ipBlock": {"cidr": "fd00:10:244::/56", "except": ["fd00:10:244:2::/64"]}}]}]}))
    block = np.spec.ingress[0].from_[0].ipBlock
    assert block.network.version == 6 and [str(n) for n in block.excepted] == ["fd00:10:244:2::/64"]


def test_ip_block_accepts_host_bits_like_go_parse_cidr():
    np = NetworkPolicy.model_validate(policy({"ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.1/24", "except": ["10.0.0.5/32"]}}]}]}))
    block = np.spec.ingress[0].from_[0].ipBlock
    assert str(block.network) == "10.0.0.0/24"
    assert [str(n) for n in block.excepted] == ["10.0.0.5/32"]


@pytest.mark.parametrize(
    ("port", "message"),
    [
        ({"port": 0}, "ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive"),
        ({"port": "Http"}, 'ports[0].port: Invalid value: "Http"'),
        ({"port": True}, "must be an integer or a port name"),
        ({"protocol": "ICMP"}, 'Unsupported value: "ICMP"'),
        ({"endPort": 90}, "ports[0]: Required value: `port` must be specified when `endPort` is specified"),
        ({"port": "http", "endPort": 90}, "ports[0]: Forbidden: endPort may not be specified when `port` is non-numeric"),
        ({"port": 90, "endPort": 80}, "ports[0]: Invalid value: 80: endPort must be greater than or equal to `port`"),
        ({"port": 80, "endPort": 70000}, "ports[0].endPort: Invalid value: 70000"),
    ],
)
def test_bad_ports_are_refused(port, message):
    found = problems(policy({"ingress": [{"ports": [port]}]}))
    assert any(message in p for p in found), found


@pytest.mark.parametrize(
    ("types", "message"),
    [
        (["Ingress", "Sideways"], 'spec.policyTypes[1]: Unsupported value: "Sideways"'),
        (["Ingress", "Egress", "Ingress"], "spec.policyTypes: Invalid value"),
    ],
)
def test_bad_policy_types_are_refused(types, message):
    found = problems(policy({"policyTypes": types}))
    assert any(message in p for p in found), found


# --- round trip ----------------------------------------------------------------------------------


def test_dump_keeps_empty_selectors_because_they_mean_all():
    data = policy(
        {
            "podSelector": {},
            "ingress": [{"from": [{"namespaceSelector": {}}, {"podSelector": {}}]}, {}],
            "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}}], "ports": [{"port": 53, "protocol": "UDP"}]}],
        }
    )
    np = NetworkPolicy.model_validate(data)
    dumped = np.to_dict()
    assert dumped["spec"]["podSelector"] == {}
    assert dumped["spec"]["ingress"] == [{"from": [{"namespaceSelector": {}}, {"podSelector": {}}]}, {}]
    assert dumped["spec"]["egress"][0]["to"] == [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}}]
    assert dumped["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert object_from_dict(dumped) == np


def test_network_policies_load_from_a_manifest_into_the_default_namespace(tmp_path: Path):
    path = tmp_path / "deny.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: deny-all-ingress}
            spec:
              podSelector: {}
            """
        )
    )
    result = load_manifests([str(path)], "x")
    assert [obj_key(o) for o in result.objects] == [("NetworkPolicy", "x", "deny-all-ingress")]
    assert result.warnings == ()


def test_a_bad_policy_in_a_manifest_names_file_object_and_field(tmp_path: Path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: y}\n"
        "spec: {ingress: [{ports: [{port: 70000}]}]}\n"
    )
    with pytest.raises(InvalidInput) as info:
        load_manifests([str(path)])
    assert info.value.problems == [
        f"{path}: NetworkPolicy y/p: spec.ingress[0].ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive"
    ]


def test_wrong_api_version_is_refused():
    found = problems({**policy({}), "apiVersion": "extensions/v1beta1"})
    assert any(p.startswith("apiVersion: Unsupported value") for p in found), found
