"""kube-proxy's iptables payload: golden files plus the behaviour each rule stands for.

Regenerate the golden files after an intended change with
    NETLAB_UPDATE_GOLDEN=1 pytest tests/unit/test_proxy_render.py
and review the diff like code.
"""

from __future__ import annotations

import random
import re
from dataclasses import replace
from pathlib import Path

import pytest

from netlab.errors import InvalidInput
from netlab.proxy import Endpoint, ProxyConfig, ServicePortInfo, render_rules, service_chains
from netlab.proxy import render

from cases.golden import check
from cases.proxy_render import CONFIG, GOLDEN_CASES, ep, kube_dns, several_services, web

GOLDEN_DIR = Path(__file__).parent / "golden" / "proxy"


def tables(payload: str) -> dict[str, dict[str, list[str]]]:
    """table -> chain -> its rules (the text after `-A CHAIN `), in payload order."""
    result: dict[str, dict[str, list[str]]] = {}
    for line in payload.splitlines():
        if line.startswith("*"):
            chains = result.setdefault(line[1:], {})
        elif line.startswith(":"):
            chains[line[1:].split()[0]] = []
        elif line.startswith("-A "):
            _, chain, rest = line.split(" ", 2)
            chains[chain].append(rest)
    return result


@pytest.mark.parametrize("case", sorted(GOLDEN_CASES))
def test_payload_matches_golden_file(case):
    payload = render_rules(GOLDEN_CASES[case], CONFIG)
    check(GOLDEN_DIR / f"{case}.txt", payload)


@pytest.mark.parametrize("case", sorted(GOLDEN_CASES))
def test_every_jump_target_is_declared_and_each_table_commits(case):
    payload = render_rules(GOLDEN_CASES[case], CONFIG)
    assert payload.endswith("COMMIT\n")
    assert payload.count("COMMIT\n") == 2
    for table, chains in tables(payload).items():
        for rules in chains.values():
            for rule in rules:
                target = re.search(r"-j (KUBE-\S+)", rule)
                assert target is None or target.group(1) in chains, f"{table}: {rule}"


def test_client_is_load_balanced_over_both_nodes_endpoints_with_snat_for_off_cluster_sources():
    payload = render_rules(GOLDEN_CASES["one_service_two_nodes"], CONFIG)
    nat = tables(payload)["nat"]
    svc, seps = service_chains(GOLDEN_CASES["one_service_two_nodes"][0])
    assert (
        f'-m comment --comment "default/web:http cluster IP" -m tcp -p tcp -d 10.96.0.20 --dport 80 -j {svc}'
        in nat["KUBE-SERVICES"]
    )
    assert nat[svc][0].endswith("--dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ")
    assert [rule.split(" -j ")[-1] for rule in nat[svc][1:]] == list(seps)
    assert nat[seps[0]] == [
        "-m comment --comment default/web:http -s 10.244.1.2 -j KUBE-MARK-MASQ",
        "-m comment --comment default/web:http -m tcp -p tcp -j DNAT --to-destination 10.244.1.2:8080",
    ]
    # The NodePorts catch-all stays the last rule of KUBE-SERVICES.
    assert nat["KUBE-SERVICES"][-1].endswith("-m addrtype --dst-type LOCAL -j KUBE-NODEPORTS")


def test_service_without_endpoints_is_rejected_and_has_no_nat_chains():
    port = GOLDEN_CASES["no_endpoints"][0]
    parsed = tables(render_rules([port], CONFIG))
    assert parsed["filter"]["KUBE-SERVICES"] == [
        '-m comment --comment "default/lonely has no endpoints" -m tcp -p tcp -d 10.96.0.30 --dport 80 -j REJECT'
    ]
    svc, seps = service_chains(port)
    assert seps == ()
    assert svc not in parsed["nat"]
    assert not any("10.96.0.30" in rule for rule in parsed["nat"]["KUBE-SERVICES"])


def test_kube_dns_gets_upstreams_chain_per_protocol_on_port_53():
    parsed = tables(render_rules(kube_dns(), CONFIG))["nat"]
    jumps = [rule for rule in parsed["KUBE-SERVICES"] if "10.96.0.10" in rule]
    assert jumps == [
        '-m comment --comment "kube-system/kube-dns:dns cluster IP" -m udp -p udp -d 10.96.0.10 --dport 53'
        " -j KUBE-SVC-TCOU7JCQXEZGVUNU",
        '-m comment --comment "kube-system/kube-dns:dns-tcp cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 53'
        " -j KUBE-SVC-ERIFXISQEP7F7OF4",
        '-m comment --comment "kube-system/kube-dns:metrics cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 9153'
        " -j KUBE-SVC-JD5MR3NA4I4DYORP",
    ]
    udp_sep = service_chains(kube_dns()[0])[1][0]
    assert parsed[udp_sep][-1].endswith("-m udp -p udp -j DNAT --to-destination 10.244.1.3:53")


def test_each_of_n_endpoints_is_picked_with_probability_one_over_n():
    port = GOLDEN_CASES["three_endpoints"][0]
    svc, seps = service_chains(port)
    rules = tables(render_rules([port], CONFIG))["nat"][svc][1:]
    probabilities = [re.search(r"--probability (\S+)", rule) for rule in rules]
    assert [p.group(1) for p in probabilities[:-1]] == ["0.3333333333", "0.5000000000"]
    assert probabilities[-1] is None  # the last endpoint takes whatever falls through
    fall_through, picked = 1.0, []
    for p in probabilities:
        chance = float(p.group(1)) if p else 1.0
        picked.append(fall_through * chance)
        fall_through *= 1 - chance
    assert picked == pytest.approx([1 / 3] * 3, abs=1e-9)
    assert len(seps) == 3


def test_not_ready_endpoints_get_no_traffic():
    active, starting = GOLDEN_CASES["not_ready_excluded"]
    payload = render_rules([active, starting], CONFIG)
    assert "10.244.1.5" not in payload
    assert "10.244.2.7" not in payload
    assert len(service_chains(active)[1]) == 2
    assert any("default/starting:http has no endpoints" in rule for rule in tables(payload)["filter"]["KUBE-SERVICES"])


def test_payload_does_not_depend_on_input_order():
    ports = several_services()
    shuffled = [
        ServicePortInfo(p.namespace, p.service, p.port_name, p.protocol, p.cluster_ip, p.port, tuple(reversed(p.endpoints)))
        for p in reversed(ports)
    ]
    random.Random(7).shuffle(shuffled)
    assert render_rules(shuffled, CONFIG) == render_rules(ports, CONFIG)


def test_endpoints_are_ordered_by_their_ip_port_string_like_upstream():
    port = web(ep("10.244.1.10", "node-a"), ep("10.244.1.9", "node-a"))
    assert [e.address for e in port.ready_endpoints] == ["10.244.1.10:8080", "10.244.1.9:8080"]


def test_headless_service_gets_no_rules():
    headless = ServicePortInfo("default", "db", "", "TCP", "None", 5432, (ep("10.244.1.2", "node-a", port=5432),))
    assert render_rules([headless], CONFIG) == render_rules([], CONFIG)


def test_duplicate_service_port_is_refused_with_its_name():
    with pytest.raises(InvalidInput, match="default/web:http"):
        render_rules([web(), web(cluster_ip="10.96.0.99")], CONFIG)


def test_large_cluster_mode_drops_per_endpoint_comments_like_upstream():
    many = tuple(ep(f"10.244.{i // 250}.{i % 250 + 2}", "node-a") for i in range(1001))
    port = web(*many)
    nat = tables(render_rules([port], CONFIG))["nat"]
    svc, seps = service_chains(port)
    first = port.ready_endpoints[0]
    assert "cluster IP" in nat[svc][0]  # the masquerade rule keeps its comment
    assert not any("comment" in rule for rule in nat[svc][1:])
    assert nat[seps[0]] == [
        f"-s {first.ip} -j KUBE-MARK-MASQ",
        f"-m tcp -p tcp -j DNAT --to-destination {first.address}",
    ]


def test_masquerade_mark_follows_the_masquerade_bit():
    payload = render_rules([], ProxyConfig(cluster_cidr="10.244.0.0/16", masquerade_bit=15))
    assert "-A KUBE-MARK-MASQ -j MARK --or-mark 0x8000" in payload
    assert "-m mark ! --mark 0x8000/0x8000 -j RETURN" in payload


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: ServicePortInfo("d", "s", "", "ICMP", "10.96.0.1", 80), "protocol 'ICMP'"),
        (lambda: ServicePortInfo("d", "s", "", "TCP", "fd00::1", 80, (Endpoint("10.244.1.2", 80, "node-a"),)), "is not IPv6"),
        (lambda: ServicePortInfo("d", "s", "", "TCP", "10.96.0.1", 80, external_ips=("fd00::5",)), "is not IPv4"),
        (lambda: ProxyConfig(cluster_cidr="10.244.0.0/16", family=6), "cluster CIDR '10.244.0.0/16' is not IPv6"),
        (lambda: ServicePortInfo("d", "s", "", "TCP", "10.96.0.1", 0), "port 0"),
        (lambda: Endpoint("10.244.1.300", 80, "node-a"), "not an IP address"),
        (lambda: ProxyConfig(cluster_cidr="10.244.0.0/16", masquerade_bit=32), "masquerade bit 32"),
        (lambda: ProxyConfig(cluster_cidr="10.244.1.0/16"), "not a network"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(build, message):
    with pytest.raises(InvalidInput, match=re.escape(message)):
        build()


def test_a_bad_address_is_refused_every_time_not_only_the_first():
    for _ in range(2):
        with pytest.raises(InvalidInput, match="not an IP address"):
            Endpoint("10.244.1.300", 80, "node-a")


# --- the render cache: a sync renders again only what changed ----------------------------------


def rendered_ports() -> int:
    """How many service ports were rendered from scratch so far (the cache's misses)."""
    return render._port_rules.cache_info().misses


def test_a_sync_renders_again_only_the_service_port_whose_endpoint_moved():
    ports = [web(ep("10.244.1.2", "node-a"), name=f"cached-{i}", cluster_ip=f"10.96.7.{i + 1}") for i in range(5)]
    first = render_rules(ports, CONFIG)
    before = rendered_ports()
    assert render_rules(ports, CONFIG) == first and rendered_ports() == before  # nothing changed
    moved = [replace(ports[0], endpoints=(ep("10.244.2.9", "node-b"),)), *ports[1:]]
    payload = render_rules(moved, CONFIG)
    assert rendered_ports() == before + 1
    assert "--to-destination 10.244.2.9:8080" in payload and "10.244.1.2:8080" in payload
    render._port_rules.cache_clear()
    assert render_rules(moved, CONFIG) == payload  # the same text as a render from scratch


def test_each_node_and_large_cluster_mode_get_their_own_rules_from_the_cache():
    local = replace(web(ep("10.244.1.2", "node-a"), name="cached-local"), internal_traffic_policy="Local")
    on_a, on_b = replace(CONFIG, node_name="node-a"), replace(CONFIG, node_name="node-b")
    a, b = render_rules([local], on_a), render_rules([local], on_b)
    assert "DNAT" in a and "DNAT" not in b  # Local policy: only node-a has the endpoint
    assert render_rules([local], on_a) == a and render_rules([local], on_b) == b
    # The same port loses its per-endpoint comments once the cluster as a whole is large.
    small = web(ep("10.244.1.2", "node-a"), name="cached-small", cluster_ip="10.96.0.21")
    big = web(*(ep(f"10.244.{i // 250}.{i % 250 + 2}", "node-a") for i in range(1001)), name="cached-big")
    assert "default/cached-small:http -> " in render_rules([small], CONFIG)
    assert "default/cached-small:http -> " not in render_rules([small, big], CONFIG)
