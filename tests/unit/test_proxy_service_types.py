"""kube-proxy's rules for Services reached from outside: NodePort, LoadBalancer, external IPs,
traffic policies and session affinity — golden files plus the behaviour each rule stands for.

The expectations follow upstream's proxier_test.go dumps (pkg/proxy/iptables). Regenerate the
golden files after an intended change with
    NETLAB_UPDATE_GOLDEN=1 pytest tests/unit/test_proxy_service_types.py
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from netlab.proxy import port_rules, render_rules
from netlab.proxy.categorize import categorize

from cases.golden import check
from cases.proxy_service_types import GOLDEN_CASES, NODE_A, NODE_B, ONLY_A, web

GOLDEN_DIR = Path(__file__).parent / "golden" / "proxy"


def tables(payload: str) -> dict[str, dict[str, list[str]]]:
    result: dict[str, dict[str, list[str]]] = {}
    for line in payload.splitlines():
        if line.startswith("*"):
            chains = result.setdefault(line[1:], {})
        elif line.startswith(":"):
            chains[line[1:].split()[0]] = []
        elif line.startswith("-A "):
            _, chain, *rest = line.split(" ", 2)
            chains[chain].append(rest[0] if rest else "")
    return result


@pytest.mark.parametrize("case", sorted(GOLDEN_CASES))
def test_payload_matches_golden_file(case):
    ports, config = GOLDEN_CASES[case]
    payload = render_rules(ports, config)
    check(GOLDEN_DIR / f"{case}.txt", payload)


@pytest.mark.parametrize("case", sorted(GOLDEN_CASES))
def test_every_jump_target_is_declared(case):
    ports, config = GOLDEN_CASES[case]
    for table, chains in tables(render_rules(ports, config)).items():
        for rules in chains.values():
            for rule in rules:
                target = re.search(r"-j (KUBE-\S+)", rule)
                assert target is None or target.group(1) in chains, f"{table}: {rule}"


def test_nodeport_goes_through_ext_which_masquerades_then_to_the_service_chain():
    port = web(node_port=30080)
    nat = tables(render_rules([port], NODE_A))["nat"]
    ext = next(c for c in nat if c.startswith("KUBE-EXT-"))
    svc = next(c for c in nat if c.startswith("KUBE-SVC-"))
    assert ext[len("KUBE-EXT-"):] == svc[len("KUBE-SVC-"):]  # one hash, as upstream
    assert nat["KUBE-NODEPORTS"] == [f"-m comment --comment default/web -m tcp -p tcp --dport 30080 -j {ext}"]
    assert nat[ext] == [
        '-m comment --comment "masquerade traffic for default/web external destinations" -j KUBE-MARK-MASQ',
        f"-j {svc}",
    ]


def test_without_endpoints_the_nodeport_and_lb_ip_are_rejected_in_the_filter_table():
    port = web(endpoints=(), node_port=30080, load_balancer_ips=("172.31.255.200",))
    parsed = tables(render_rules([port], NODE_A))
    assert parsed["filter"]["KUBE-EXTERNAL-SERVICES"] == [
        '-m comment --comment "default/web has no endpoints" -m tcp -p tcp -d 172.31.255.200 --dport 80 -j REJECT',
        '-m comment --comment "default/web has no endpoints" -m addrtype --dst-type LOCAL -m tcp -p tcp --dport 30080 -j REJECT',
    ]
    assert parsed["nat"]["KUBE-NODEPORTS"] == []
    assert not any(c.startswith("KUBE-EXT-") for c in parsed["nat"])


def test_local_policy_uses_only_this_nodes_endpoints_and_keeps_the_source():
    port = web(node_port=30080, external_traffic_policy="Local")
    on_a = categorize(port, "node-a")
    assert [e.ip for e in on_a.local] == ["10.244.1.2"]
    nat = tables(render_rules([port], NODE_A))["nat"]
    ext = next(c for c in nat if c.startswith("KUBE-EXT-"))
    svl = next(c for c in nat if c.startswith("KUBE-SVL-"))
    assert not any("masquerade traffic for" in r for r in nat[ext])
    assert nat[ext][-1] == f"-j {svl}"
    assert [r.split(" -j ")[-1] for r in nat[svl]] == [next(c for c in nat if c.startswith("KUBE-SEP-") and c in nat[svl][0])]


def test_local_policy_on_a_node_without_endpoints_drops_but_pods_and_the_node_still_get_through():
    port = web(endpoints=ONLY_A, node_port=30080, external_traffic_policy="Local")
    parsed = tables(render_rules([port], NODE_B))
    nat = parsed["nat"]
    ext = next(c for c in nat if c.startswith("KUBE-EXT-"))
    assert not any(c.startswith("KUBE-SVL-") for c in nat)
    assert [r.split(" -j ")[-1] for r in nat[ext]] == [next(c for c in nat if c.startswith("KUBE-SVC-")), "KUBE-MARK-MASQ", next(c for c in nat if c.startswith("KUBE-SVC-"))]
    assert parsed["filter"]["KUBE-EXTERNAL-SERVICES"] == [
        '-m comment --comment "default/web has no local endpoints" -m addrtype --dst-type LOCAL -m tcp -p tcp --dport 30080 -j DROP'
    ]


def test_internal_local_policy_drops_cluster_ip_traffic_on_nodes_without_endpoints():
    port = web(endpoints=ONLY_A, internal_traffic_policy="Local")
    assert tables(render_rules([port], NODE_B))["filter"]["KUBE-SERVICES"] == [
        '-m comment --comment "default/web has no local endpoints" -m tcp -p tcp -d 10.96.0.20 --dport 80 -j DROP'
    ]
    nat_a = tables(render_rules([port], NODE_A))["nat"]
    assert any(r.endswith("-j " + next(c for c in nat_a if c.startswith("KUBE-SVL-"))) for r in nat_a["KUBE-SERVICES"])


def test_client_ip_affinity_checks_recent_lists_before_the_random_pick():
    port = web(session_affinity="ClientIP", sticky_max_age_seconds=60)
    nat = tables(render_rules([port], NODE_A))["nat"]
    svc = next(c for c in nat if c.startswith("KUBE-SVC-"))
    seps = [c for c in nat if c.startswith("KUBE-SEP-")]
    recent = [r for r in nat[svc] if "-m recent" in r]
    assert len(recent) == 2 and nat[svc].index(recent[-1]) < 3  # right after the masquerade rule
    assert all("--rcheck --seconds 60 --reap" in r for r in recent)
    for sep in seps:
        assert f"-m recent --name {sep} --set -m tcp -p tcp -j DNAT" in nat[sep][1]


def test_source_ranges_build_a_firewall_chain_and_allow_the_node_when_it_is_inside_one():
    port = web(load_balancer_ips=("172.31.255.200",), load_balancer_source_ranges=("172.31.255.0/24",))
    parsed = tables(render_rules([port], NODE_A))
    fw = next(c for c in parsed["nat"] if c.startswith("KUBE-FW-"))
    ext = fw.replace("KUBE-FW-", "KUBE-EXT-")
    assert parsed["nat"][fw] == [
        f'-m comment --comment "default/web loadbalancer IP" -s 172.31.255.0/24 -j {ext}',
        f'-m comment --comment "default/web loadbalancer IP" -s 172.31.255.200 -j {ext}',
        '-m comment --comment "other traffic to default/web will be dropped by KUBE-PROXY-FIREWALL"',
    ]
    assert parsed["filter"]["KUBE-PROXY-FIREWALL"] == [
        f'-m comment --comment "default/web traffic not accepted by {fw}" -m tcp -p tcp -d 172.31.255.200 --dport 80 -j DROP'
    ]
    outside = replace(port, load_balancer_source_ranges=("10.0.0.0/8",))
    assert len(tables(render_rules([outside], NODE_A))["nat"][fw]) == 2


def test_the_port_chains_are_what_describe_shows():
    rules = port_rules(web(node_port=30080), NODE_A)
    assert [c.split("-")[1] for c in rules.nat_chains] == ["EXT", "SVC", "SEP", "SEP"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"node_port": 70000}, "nodePort 70000"),
        ({"external_ips": ("not-an-ip",)}, "external address"),
        ({"load_balancer_source_ranges": ("10.0.0.1/8",)}, "loadBalancerSourceRanges"),
        ({"external_traffic_policy": "Nearest"}, "externalTrafficPolicy"),
        ({"session_affinity": "Cookie"}, "sessionAffinity"),
        ({"sticky_max_age_seconds": 0}, "timeout 0"),
    ],
)
def test_bad_fields_are_refused_with_a_clear_message(fields, message):
    from netlab.errors import InvalidInput

    with pytest.raises(InvalidInput, match=re.escape(message)):
        web(**fields)
