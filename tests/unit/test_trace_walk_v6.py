"""The walkers over IPv6 rules: what `ip6tables-save` and `nft -j list table ip6 kube-proxy`
print on node-a after loading tests/cases/proxy_v6.py's NodePort case (default/web, endpoints
[fd00:10:244:1::2]:8080 and [fd00:10:244:2::2]:8080, NodePort 30080) plus a Service without
endpoints (default/lonely), captured in a throwaway namespace."""

from __future__ import annotations

from pathlib import Path

from netlab.trace.nftwalk import parse_table, walk_hook
from netlab.trace.rules import parse
from netlab.trace.walk import Env, Packet, split_endpoint, walk

DATA = Path(__file__).parent / "data" / "trace"
RULES = parse((DATA / "node-a.ip6tables.txt").read_text())
TABLE = parse_table((DATA / "node-a.nft6.json").read_text(), (DATA / "node-a.nft6.txt").read_text())
NODE_A = Env(frozenset({"::1", "fd00:172:31:255::11", "fd00:10:244:1::1"}))
POD_B = "fd00:10:244:2::3"
WEB, LONELY = "fd00:10:96::20", "fd00:10:96::30"
ENDPOINTS = {"[fd00:10:244:1::2]:8080", "[fd00:10:244:2::2]:8080"}


def test_ip6tables_cluster_ip_is_dnatted_to_a_bracketed_endpoint():
    w = walk(RULES, "nat", "PREROUTING", Packet(POD_B, WEB, "tcp", 80), NODE_A)
    assert w.verdict == "DNAT" and w.packet.dst == "fd00:10:244:1::2" and w.packet.dport == 8080
    assert {o.destination for o in w.choices[0].options} == ENDPOINTS
    assert w.detail == "DNAT to [fd00:10:244:1::2]:8080"


def test_ip6tables_pod_sources_are_not_masqueraded_but_the_node_is():
    from_pod = walk(RULES, "nat", "PREROUTING", Packet(POD_B, WEB, "tcp", 80), NODE_A)
    assert not from_pod.packet.mark & 0x4000
    from_node = walk(RULES, "nat", "OUTPUT", Packet("fd00:172:31:255::11", WEB, "tcp", 80), NODE_A)
    assert from_node.packet.mark & 0x4000  # ! -s fd00:10:244::/56 -j KUBE-MARK-MASQ


def test_ip6tables_nodeport_on_the_node_address_but_never_on_localhost():
    on_node = walk(RULES, "nat", "PREROUTING", Packet("fd00:172:31:255::1", "fd00:172:31:255::11", "tcp", 30080), NODE_A)
    assert on_node.verdict == "DNAT" and on_node.packet.mark & 0x4000
    on_localhost = walk(RULES, "nat", "OUTPUT", Packet("::1", "::1", "tcp", 30080), NODE_A)
    assert on_localhost.verdict == "ACCEPT"  # `! -d ::1/128`: upstream's IPv6 exception


def test_ip6tables_no_endpoints_is_rejected_with_icmp6():
    w = walk(RULES, "filter", "FORWARD", Packet(POD_B, LONELY, "tcp", 80), NODE_A)
    assert w.verdict == "REJECT" and "icmp6-port-unreachable" in w.detail


def test_nft_ip6_table_dnats_through_the_service_map():
    walks = walk_hook(TABLE, "prerouting", Packet(POD_B, WEB, "tcp", 80), NODE_A)
    nat = walks[-1]
    assert nat.table == "nft ip6 kube-proxy"
    assert nat.verdict == "DNAT" and nat.packet.dst in {"fd00:10:244:1::2", "fd00:10:244:2::2"}
    assert f"{WEB} . tcp . 80 → goto service-" in nat.hits[1].note
    assert {o.destination for o in nat.choices[0].options} == ENDPOINTS


def test_nft_ip6_nodeport_and_no_endpoints_and_unallocated_addresses():
    nodeport = walk_hook(TABLE, "prerouting", Packet("fd00:172:31:255::1", "fd00:172:31:255::11", "tcp", 30080), NODE_A)
    assert nodeport[-1].verdict == "DNAT"
    lonely = walk_hook(TABLE, "forward", Packet(POD_B, LONELY, "tcp", 80), NODE_A)
    assert lonely[-1].verdict == "REJECT" and lonely[-1].chains[-1] == "reject-chain"
    unallocated = walk_hook(TABLE, "forward", Packet(POD_B, "fd00:10:96::99", "tcp", 80), NODE_A)
    assert unallocated[-1].verdict == "DROP"


def test_endpoint_text_of_both_families_splits():
    assert split_endpoint("[fd00:10:244:1::2]:8080") == ("fd00:10:244:1::2", 8080)
    assert split_endpoint("10.244.1.2:8080") == ("10.244.1.2", 8080)
    assert split_endpoint("fd00::2") == ("fd00::2", None)


def test_a_v6_destination_is_written_with_brackets_when_it_has_a_port():
    from netlab.trace.resolve import is_ip, split_port

    assert split_port("[fd00:10:96::20]:80") == ("fd00:10:96::20", 80)
    assert split_port("fd00:10:96::20") == ("fd00:10:96::20", None)
    assert split_port("web:8080") == ("web", 8080) and split_port("10.96.0.20:80") == ("10.96.0.20", 80)
    assert is_ip("fd00:10:96::20") and not is_ip("web")


def test_a_server_on_the_v6_wildcard_listens_for_both_families():
    from netlab.trace import sockets

    text = (
        "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
        "   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1831135 1\n"
        "   1: 0000FDFD00000000000000000200000A:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1831136 1\n"
    )
    rows = sockets.parse_proc_net(text)
    assert [r.address for r in rows] == ["::", "fdfd::a00:2"]
    assert [r.inode for r in sockets.listening(rows, "tcp", 8080, "10.151.1.4")] == [1831135]
    assert [r.inode for r in sockets.listening(rows, "tcp", 8080, "fd00:151:244:1::4")] == [1831135]


def test_a_service_name_resolves_to_aaaa_in_the_labs_first_family():
    from netlab.dns.records import PortRecord, Records, ServiceRecord
    from netlab.trace import resolve

    web = ServiceRecord("default", "web", "ClusterIP", "10.96.0.20", None, (PortRecord("", 80, "TCP"),), (), cluster_ips=("10.96.0.20", "fd00:10:96::20"))
    records = Records(domain="cluster.local", services=(web,), pods=(), namespaces=("default",))
    conf = resolve.ResolvConf.parse("search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver fd00:10:96::a\noptions ndots:5\n")
    step, address = resolve.dns_step("web", conf, records, "pod default/client", "Service kube-system/kube-dns", (6,))
    assert address == "fd00:10:96::20" and step.data["record"].endswith("IN AAAA fd00:10:96::20")
    _, address = resolve.dns_step("web", conf, records, "pod default/client", "Service kube-system/kube-dns", (4, 6))
    assert address == "10.96.0.20"
