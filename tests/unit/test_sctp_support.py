"""SCTP: a protocol the API accepts; kube-proxy writes its rules; the kernel is asked, read-only,
whether pods can speak it."""

from __future__ import annotations

from netlab.kernel import features
from netlab.proxy.service_rules import port_rules
from netlab.proxy.types import Endpoint, ProxyConfig, ServicePortInfo


def test_the_kernel_carries_sctp_when_its_stack_is_registered(tmp_path):
    (tmp_path / "sctp").mkdir()
    assert features.sctp_problem(str(tmp_path / "sctp")) is None


def test_otherwise_the_reason_names_the_module(tmp_path):
    reason = features.sctp_problem(str(tmp_path / "missing"))
    assert reason is not None and "sctp" in reason


def test_kube_proxy_matches_and_dnats_sctp_like_tcp():
    port = ServicePortInfo("default", "sip", "sip", "SCTP", "10.96.0.20", 5060, (Endpoint("10.244.1.5", 5060, "node-a"),))
    rules = port_rules(port, ProxyConfig(cluster_cidr="10.244.0.0/16", node_name="node-a"))

    assert any("-m sctp -p sctp -d 10.96.0.20 --dport 5060" in r for r in rules.nat_rules)
    assert any("-m sctp -p sctp -j DNAT --to-destination 10.244.1.5:5060" in r for r in rules.nat_rules)
    assert "sctp" in features.OPTIONAL_MODULES  # doctor reports it among the optional features
