"""kube-proxy's nftables mode: golden files of the `ip kube-proxy` table, pinned to upstream's
names, the behaviour each part stands for, and partial sync ending where a full load ends.

Regenerate the golden files after an intended change with
    NETLAB_UPDATE_GOLDEN=1 pytest tests/unit/test_proxy_nft.py
and review the diff like code.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from netlab.proxy import Endpoint, ServicePortInfo
from netlab.proxy import nftnames as n
from netlab.proxy.nftables import full_script, render_nft
from netlab.proxy.nftpartial import plan_sync

from cases.golden import check
from cases.proxy_nft import GOLDEN_CASES, SERVICE_CIDR
from cases.proxy_partial import CONFIG as PARTIAL_CONFIG
from cases.proxy_partial import service_ports

GOLDEN_DIR = Path(__file__).parent / "golden" / "proxy-nft"
PREFIX = "ip kube-proxy"


def rules(script: str) -> dict[str, list[str]]:
    """chain -> its rules (the text after `add rule ip kube-proxy CHAIN `), in order."""
    chains: dict[str, list[str]] = {}
    for line in script.splitlines():
        if line.startswith(f"add chain {PREFIX} "):
            chains.setdefault(line.split()[4], [])
        elif line.startswith(f"add rule {PREFIX} "):
            _, _, _, _, chain, rest = line.split(" ", 5)
            chains[chain].append(rest)
    return chains


def elements(script: str, container: str) -> list[str]:
    start = f"add element {PREFIX} {container} {{ "
    return [line[len(start) : -2] for line in script.splitlines() if line.startswith(start)]


@pytest.mark.parametrize("case", sorted(GOLDEN_CASES))
def test_table_matches_golden_file(case):
    ports, config = GOLDEN_CASES[case]
    script = full_script(render_nft(ports, config))
    check(GOLDEN_DIR / f"{case}.nft", script)


@pytest.mark.parametrize("case", sorted(GOLDEN_CASES))
def test_every_goto_and_jump_target_is_declared(case):
    ports, config = GOLDEN_CASES[case]
    script = full_script(render_nft(ports, config))
    chains = rules(script)
    for line in script.splitlines():
        for target in re.findall(r"(?:goto|jump) ([\w./-]+)", line):
            assert target in chains, line


def test_names_are_upstreams():
    # The examples in upstream's servicePortChainNameBase / servicePortEndpointChainNameBase.
    assert n.service_chain("ns1", "svc1", "TCP", "p80") == "service-ULMVA6XW-ns1/svc1/tcp/p80"
    assert n.endpoint_chain("ns1", "svc1", "TCP", "p80", "10.180.0.1", 80) == "endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80"
    assert n.is_service_chain("service-ULMVA6XW-ns1/svc1/tcp/p80") and not n.is_service_chain("services")


def test_a_cluster_ip_is_one_verdict_map_element_and_endpoints_are_picked_by_numgen():
    ports, config = GOLDEN_CASES["three_endpoints"]
    script = full_script(render_nft(ports, config))
    svc = n.service_chain("default", "web", "TCP", "http")
    assert elements(script, n.SERVICE_IPS) == [f"10.96.0.20 . tcp . 80 : goto {svc}"]
    assert elements(script, n.CLUSTER_IPS) == ["10.96.0.20"]
    chains = rules(script)
    assert chains[n.SERVICES] == [
        "ip daddr . meta l4proto . th dport vmap @service-ips",
        "ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports",
    ]
    assert chains[svc][0] == "ip daddr 10.96.0.20 tcp dport 80 ip saddr != 10.244.0.0/16 jump mark-for-masquerade"
    assert chains[svc][1].startswith("numgen random mod 3 vmap { 0 : goto endpoint-")
    ep = n.endpoint_chain("default", "web", "TCP", "http", "10.244.1.2", 8080)
    assert chains[ep] == ["ip saddr 10.244.1.2 jump mark-for-masquerade", "meta l4proto tcp dnat to 10.244.1.2:8080"]


def test_service_without_endpoints_is_rejected_through_the_no_endpoint_map():
    ports, config = GOLDEN_CASES["no_endpoints"]
    script = full_script(render_nft(ports, config))
    assert elements(script, n.NO_ENDPOINT_SERVICES) == ['10.96.0.30 . tcp . 80 comment "default/lonely" : goto reject-chain']
    assert elements(script, n.SERVICE_IPS) == []
    assert not any(n.is_service_chain(c) for c in rules(script))


def test_nodeports_answer_only_on_the_nodes_primary_address():
    ports, config = GOLDEN_CASES["nodeport_cluster_policy"]
    script = full_script(render_nft(ports, config))
    assert elements(script, n.NODEPORT_IPS) == ["172.31.255.11"]
    ext = n.external_chain("default", "web", "TCP", "")
    assert elements(script, n.SERVICE_NODEPORTS) == [f"tcp . 30080 : goto {ext}"]
    assert rules(script)[ext] == ["jump mark-for-masquerade", f"goto {n.service_chain('default', 'web', 'TCP', '')}"]


def test_local_external_policy_keeps_the_source_and_drops_without_local_endpoints():
    ports, config = GOLDEN_CASES["external_local_without_local_endpoint"]
    script = full_script(render_nft(ports, config))
    ext = n.external_chain("default", "web", "TCP", "")
    assert rules(script)[ext] == [
        f'ip saddr 10.244.0.0/16 goto {n.service_chain("default", "web", "TCP", "")} comment "short-circuit pod traffic"',
        'fib saddr type local jump mark-for-masquerade comment "masquerade local traffic"',
        f'fib saddr type local goto {n.service_chain("default", "web", "TCP", "")} comment "short-circuit local traffic"',
    ]
    assert 'tcp . 30080 comment "default/web" : drop' in elements(script, n.NO_ENDPOINT_NODEPORTS)


def test_session_affinity_is_a_timed_set_per_endpoint():
    ports, config = GOLDEN_CASES["session_affinity"]
    script = full_script(render_nft(ports, config))
    affinity = n.affinity_set("default", "web", "TCP", "", "10.244.1.2", 8080)
    assert f"add set {PREFIX} {affinity} {{ type ipv4_addr ; flags dynamic,timeout ; timeout 60s ; }}" in script
    ep = n.endpoint_chain("default", "web", "TCP", "", "10.244.1.2", 8080)
    assert f"update @{affinity} {{ ip saddr }}" in rules(script)[ep]
    assert f"ip saddr @{affinity} goto {ep}" in rules(script)[n.service_chain("default", "web", "TCP", "")]


def test_load_balancer_source_ranges_go_through_the_firewall_map():
    ports, config = GOLDEN_CASES["loadbalancer_source_ranges"]
    script = full_script(render_nft(ports, config))
    fw = n.firewall_chain("default", "web", "TCP", "")
    assert elements(script, n.FIREWALL_IPS) == [f"172.31.255.200 . tcp . 80 : goto {fw}"]
    # The node's own address is in 172.31.255.0/24, so the VIP itself is allowed too.
    assert rules(script)[fw] == ["ip saddr != { 172.31.255.0/24, 203.0.113.0/25, 172.31.255.200 } drop"]


def test_unallocated_cluster_ips_are_dropped_and_wrong_ports_rejected():
    ports, config = GOLDEN_CASES["one_service_two_nodes"]
    chains = rules(full_script(render_nft(ports, config)))
    assert chains[n.CLUSTER_IPS_CHECK] == [
        'ip daddr @cluster-ips reject comment "Reject traffic to invalid ports of ClusterIPs"',
        f'ip daddr {{ {SERVICE_CIDR} }} drop comment "Drop traffic to unallocated ClusterIPs"',
    ]


# --- partial sync -------------------------------------------------------------------------------


def apply(state: dict, script: str) -> dict:
    """A model of the kernel's table: replay a script's lines on it (what nft -f would do)."""
    chains = {c: list(r) for c, r in state["chains"].items()}
    elems = {c: dict(m) for c, m in state["elements"].items()}
    sets = dict(state["sets"])
    for line in script.splitlines():
        words = line.split(" ")
        verb, kind = words[0], words[1]
        if kind == "table" and verb == "delete":
            chains, elems, sets = {}, {}, {}
        elif kind == "chain":
            name = words[4]
            if verb == "add":
                chains.setdefault(name, [])
            elif verb == "flush":
                chains[name] = []
            elif verb == "delete":
                assert chains[name] == [], f"deleting a non-empty chain: {line}"
                del chains[name]
        elif kind == "rule":
            chains[words[4]].append(" ".join(words[5:]))
        elif kind in ("set", "map") and verb == "add" and "flags dynamic" in line:
            sets[words[4]] = line
        elif kind == "set" and verb == "delete":
            del sets[words[4]]
        elif kind in ("set", "map"):
            elems.setdefault(words[4], {})
        elif kind == "element":
            body = line.split("{ ", 1)[1][:-2]
            key = re.split(r" comment | : ", body)[0]
            if verb == "add":
                assert key not in elems[words[4]], f"adding an element twice: {line}"
                elems[words[4]][key] = body
            else:
                del elems[words[4]][key]
    return {"chains": chains, "elements": elems, "sets": sets}


EMPTY = {"chains": {}, "elements": {}, "sets": {}}


def test_first_sync_loads_the_whole_table_and_nothing_changed_sends_nothing():
    ruleset = render_nft(service_ports(3), PARTIAL_CONFIG)
    plan, fp = plan_sync(ruleset, None)
    assert plan.full and plan.script == full_script(ruleset)
    again, _ = plan_sync(render_nft(service_ports(3), PARTIAL_CONFIG), fp)
    assert again.script is None


def test_one_endpoint_change_sends_only_that_services_chains_and_ends_like_a_full_load():
    before = render_nft(service_ports(50), PARTIAL_CONFIG)
    _, fp = plan_sync(before, None)
    ports = service_ports(50)
    ports[7] = replace(ports[7], endpoints=(Endpoint("10.244.1.200", 8080, "node-a"),))
    after = render_nft(ports, PARTIAL_CONFIG)
    plan, _ = plan_sync(after, fp)
    assert not plan.full
    assert "svc3/" not in plan.script and "svc7/" in plan.script
    assert plan.chains_sent == 4  # svc7's service chain, its new endpoint chain, the two old ones deleted
    assert plan.elements_sent == 0  # the cluster IP still points to the same service chain
    assert apply(apply(EMPTY, full_script(before)), plan.script) == apply(EMPTY, full_script(after))


def test_services_coming_going_and_losing_endpoints_end_like_a_full_load():
    before_ports = service_ports(6, extra=True)
    before = render_nft(before_ports, PARTIAL_CONFIG)
    _, fp = plan_sync(before, None)
    after_ports = [p for p in before_ports if p.service != "svc2"]  # svc2 deleted
    after_ports[0] = replace(after_ports[0], endpoints=())  # svc0 lost its endpoints: reject
    after_ports[1] = replace(after_ports[1], session_affinity="ClientIP")  # svc1 gained affinity
    after_ports.append(ServicePortInfo("default", "new", "", "TCP", "10.96.3.1", 80, (Endpoint("10.244.2.50", 80, "node-b"),), node_port=30001))
    after = render_nft(after_ports, PARTIAL_CONFIG)
    plan, _ = plan_sync(after, fp)
    assert not plan.full
    assert apply(apply(EMPTY, full_script(before)), plan.script) == apply(EMPTY, full_script(after))
    assert f'delete element {PREFIX} {n.SERVICE_IPS} {{ 10.96.1.1 . tcp . 80 }}' in plan.script


def test_a_changed_skeleton_or_affinity_timeout_means_a_full_load():
    ports = service_ports(2)
    _, fp = plan_sync(render_nft(ports, PARTIAL_CONFIG), None)
    plan, _ = plan_sync(render_nft(ports, replace(PARTIAL_CONFIG, masquerade_bit=13)), fp)
    assert plan.full
    sticky = [replace(p, session_affinity="ClientIP") for p in ports]
    _, fp = plan_sync(render_nft(sticky, PARTIAL_CONFIG), None)
    plan, _ = plan_sync(render_nft([replace(p, sticky_max_age_seconds=60) for p in sticky], PARTIAL_CONFIG), fp)
    assert plan.full
