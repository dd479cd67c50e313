"""kube-proxy in IPv6, both modes: golden files of the ip6tables payload and of the `ip6 kube-proxy`
table, and the few places where upstream's IPv6 proxier differs from its IPv4 one.

Regenerate the golden files after an intended change with
    NETLAB_UPDATE_GOLDEN=1 pytest tests/unit/test_proxy_v6.py
and review the diff like code. tests/integration/test_rules_restore.py and test_nft_mode.py
load every case into the real ip6tables-restore and `nft -f`.
"""

from __future__ import annotations

import re
from dataclasses import replace
import pytest

from netlab.errors import InvalidInput
from netlab.proxy import Endpoint, ProxyConfig, ServicePortInfo, render_rules
from netlab.proxy import nftnames as n
from netlab.proxy.nftables import full_script, render_nft
from netlab.proxy.nftpartial import plan_sync

from cases import proxy_nft, proxy_render, proxy_service_types
from cases.golden import GOLDEN, check
from cases.proxy_v6 import IPTABLES_CASES, NFT_CASES, v6_address



@pytest.mark.parametrize("case", sorted(IPTABLES_CASES))
def test_ip6tables_payload_matches_golden_file(case):
    ports, config = IPTABLES_CASES[case]
    check(GOLDEN / "proxy-v6" / f"{case}.txt", render_rules(ports, config))


@pytest.mark.parametrize("case", sorted(NFT_CASES))
def test_ip6_table_matches_golden_file(case):
    ports, config = NFT_CASES[case]
    check(GOLDEN / "proxy-nft-v6" / f"{case}.nft", full_script(render_nft(ports, config)))


def _v4_twin(case: str) -> tuple[list[ServicePortInfo], ProxyConfig]:
    if case in proxy_render.GOLDEN_CASES:
        return proxy_render.GOLDEN_CASES[case], proxy_render.CONFIG
    return proxy_service_types.GOLDEN_CASES[case]


@pytest.mark.parametrize("case", sorted(IPTABLES_CASES))
def test_the_v6_payload_is_the_v4_one_with_v6_addresses_and_upstreams_localhost_exception(case):
    """One proxier per family, same chains: only the addresses (and ::1) differ."""
    v6 = render_rules(*IPTABLES_CASES[case]).splitlines()
    v4 = render_rules(*_v4_twin(case)).splitlines()
    assert len(v6) == len(v4)
    # The same chains with the same number of rules (endpoint chains are named after "ip:port").
    chains = lambda lines: sorted(re.sub(r"KUBE-SEP-\w+", "KUBE-SEP", line.split()[0 if line[0] != "-" else 1]) for line in lines)  # noqa: E731
    assert chains(v6) == chains(v4)
    # Affinity, masquerade, REJECT and the rest are spelled the same; NodePorts skip ::1.
    last = [line for line in v6 if "this must be the last rule" in line]
    assert last and all(line.endswith("-m addrtype --dst-type LOCAL ! -d ::1/128 -j KUBE-NODEPORTS") for line in last)
    assert not any("::1/128" in line for line in v4)


def test_v6_endpoints_are_bracketed_in_dnat_and_comments_as_upstreams_JoinHostPort():
    ports, config = IPTABLES_CASES["one_service_two_nodes"]
    payload = render_rules(ports, config)
    assert "-j DNAT --to-destination [fd00:10:244:1::2]:8080" in payload
    assert '"default/web:http -> [fd00:10:244:2::2]:8080"' in payload
    assert "! -s fd00:10:244::/56 -j KUBE-MARK-MASQ" in payload  # the family's cluster CIDR


def test_session_affinity_uses_recent_in_v6_too():
    ports, config = IPTABLES_CASES["session_affinity"]
    payload = render_rules(ports, config)
    assert "-m recent --name KUBE-SEP-" in payload and "--rcheck --seconds 60 --reap" in payload


def test_nft_v6_table_speaks_ip6_everywhere():
    ports, config = NFT_CASES["loadbalancer_source_ranges"]
    script = full_script(render_nft(ports, config))
    lines = script.splitlines()
    assert all(" ip6 kube-proxy " in f" {line} " for line in lines)
    assert not re.search(r"\bip (daddr|saddr)\b|ipv4_addr", script)
    assert "ip6 saddr != { fd00:172:31:255::/64, 2001:db8:113::/64, fd00:172:31:255::200 } drop" in script
    assert "add element ip6 kube-proxy nodeport-ips { fd00:172:31:255::11 }" in script


def test_nft_endpoint_chain_names_replace_the_v6_colons_as_upstream():
    name = n.endpoint_chain("ns1", "svc1", "TCP", "p80", "fd00:10:244:1::2", 80)
    assert name.endswith("-ns1/svc1/tcp/p80__fd00.10.244.1..2/80") and ":" not in name
    ports, config = NFT_CASES["one_service_two_nodes"]
    assert "meta l4proto tcp dnat to [fd00:10:244:1::2]:8080" in full_script(render_nft(ports, config))


def test_nft_v6_partial_sync_writes_into_the_ip6_table():
    ports, config = NFT_CASES["three_endpoints"]
    before = render_nft(ports, config)
    _, fingerprint = plan_sync(before, None)
    moved = [replace(ports[0], endpoints=ports[0].endpoints[:2])]
    plan, _ = plan_sync(render_nft(moved, config), fingerprint)
    assert not plan.full and plan.script
    assert all(" ip6 kube-proxy " in line for line in plan.script.splitlines())


@pytest.mark.parametrize(
    ("build", "message"),
    [
        # A proxier renders only its own family's Services (upstream filters by ipFamily).
        (lambda: render_rules([proxy_render.web()], IPTABLES_CASES["no_endpoints"][1]), "is IPv4, not IPv6"),
        (lambda: render_nft(IPTABLES_CASES["no_endpoints"][0], proxy_nft.GOLDEN_CASES["no_endpoints"][1]), "is IPv6, not IPv4"),
        (lambda: ServicePortInfo("d", "s", "", "TCP", "fd00:10:96::1", 80, load_balancer_source_ranges=("10.0.0.0/8",)), "is not IPv6"),
        (lambda: ProxyConfig(cluster_cidr="fd00:10:244::/56", family=6, node_ip="172.31.255.11"), "node IP '172.31.255.11' is not IPv6"),
        (lambda: ProxyConfig(cluster_cidr="fd00:10:244::/56", family=5), "IP family 5 is not 4 or 6"),
    ],
)
def test_a_family_mixup_is_refused_with_a_clear_message(build, message):
    with pytest.raises(InvalidInput, match=re.escape(message)):
        build()


def test_the_cases_address_mapping_is_what_the_lab_gives_node_a():
    assert v6_address("10.244.1.2") == "fd00:10:244:1::2"
    assert v6_address("172.31.255.11") == "fd00:172:31:255::11"
    assert Endpoint("fd00:10:244:1::2", 80, "node-a").address == "[fd00:10:244:1::2]:80"
