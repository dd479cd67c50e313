"""The trace reads a node's live `iptables-save` and walks a packet through it like netfilter."""

from pathlib import Path

import pytest

from netlab.trace.rules import parse
from netlab.trace.walk import Env, Packet, walk

# Captured from a real two-node lab (pods 10.160.0.0/16, services 10.224.0.0/16): Service
# default/web (10.224.243.146:80 -> 10.160.1.4:8080 and 10.160.2.3:8080), default/empty without
# endpoints (10.224.57.215:80), kube-dns 10.224.0.10 with two endpoints.
NODE_A = (Path(__file__).parent / "data" / "trace" / "node-a.iptables-save").read_text()
WEB_IP, EMPTY_IP = "10.224.243.146", "10.224.57.215"
CLIENT, WEB_A, WEB_B = "10.160.1.3", "10.160.1.4", "10.160.2.3"
NODE_LOCAL = Env(frozenset({"10.160.1.1", "172.30.48.11"}))


def tcp(src: str, dst: str, port: int, **kw) -> Packet:
    return Packet(src, dst, "tcp", port, in_iface="cni0", **kw)


def test_parse_keeps_chains_rules_counters_and_comments():
    rules = parse(NODE_A)
    nat = rules.tables["nat"]
    assert nat["PREROUTING"].policy == "ACCEPT" and nat["KUBE-SERVICES"].policy is None
    svc = nat["KUBE-SVC-LOLE4ISW44XBNF3G"]
    assert [r.target for r in svc.rules] == ["KUBE-MARK-MASQ", "KUBE-SEP-GHAELU5BITKASE25", "KUBE-SEP-I7OEZOXZOP5QSU5Y"]
    assert svc.rules[1].comment == "default/web -> 10.160.1.4:8080"
    assert svc.rules[0].option("-s").negated and svc.rules[0].option("-s").value == "10.160.0.0/16"
    assert svc.rules[0].packets == 0
    assert rules.chain("filter", "KUBE-SERVICES").rules[0].target_arg("--reject-with") == "icmp-port-unreachable"
    counts = rules.chain_counts()
    assert counts["filter"] == (8, 13) and counts["nat"][0] == 17


def test_parse_names_the_bad_line():
    with pytest.raises(ValueError, match="line 2"):
        parse("*nat\n-X nonsense\nCOMMIT\n")


def test_service_traffic_is_dnatted_to_the_first_endpoint_with_every_alternative_listed():
    w = walk(parse(NODE_A), "nat", "PREROUTING", tcp(CLIENT, WEB_IP, 80), NODE_LOCAL)
    assert w.chains == ("PREROUTING", "KUBE-SERVICES", "KUBE-SVC-LOLE4ISW44XBNF3G", "KUBE-SEP-GHAELU5BITKASE25")
    assert w.verdict == "DNAT" and w.detail == "DNAT to 10.160.1.4:8080"
    assert (w.packet.dst, w.packet.dport, w.packet.mark) == (WEB_A, 8080, 0)
    [choice] = w.choices
    assert [(o.target, o.probability, o.destination) for o in choice.options] == [
        ("KUBE-SEP-GHAELU5BITKASE25", 0.5, "10.160.1.4:8080"),
        ("KUBE-SEP-I7OEZOXZOP5QSU5Y", 0.5, "10.160.2.3:8080"),
    ]
    assert choice.chosen == 0


def test_the_endpoint_the_probe_saw_is_followed():
    w = walk(parse(NODE_A), "nat", "PREROUTING", tcp(CLIENT, WEB_IP, 80), NODE_LOCAL, frozenset({f"{WEB_B}:8080"}))
    assert w.chains[-1] == "KUBE-SEP-I7OEZOXZOP5QSU5Y" and w.packet.dst == WEB_B
    assert w.choices[0].chosen == 1 and "probe" in w.choices[0].why


def test_hairpin_marks_for_masquerade_and_postrouting_masquerades():
    rules = parse(NODE_A)
    pre = walk(rules, "nat", "PREROUTING", tcp(WEB_A, WEB_IP, 80), NODE_LOCAL, frozenset({f"{WEB_A}:8080"}))
    assert "KUBE-MARK-MASQ" in pre.chains and pre.packet.mark == 0x4000
    post = walk(rules, "nat", "POSTROUTING", pre.packet, NODE_LOCAL)
    assert post.verdict == "MASQUERADE" and post.chains == ("POSTROUTING", "KUBE-POSTROUTING")


def test_pod_traffic_is_not_masqueraded():
    post = walk(parse(NODE_A), "nat", "POSTROUTING", tcp(CLIENT, WEB_B, 8080), NODE_LOCAL)
    assert post.verdict == "ACCEPT" and post.detail == "policy ACCEPT"
    assert post.hits[-1].note == "RETURN"


def test_a_service_without_endpoints_is_rejected_in_filter_kube_services():
    rules = parse(NODE_A)
    pre = walk(rules, "nat", "PREROUTING", tcp(CLIENT, EMPTY_IP, 80), NODE_LOCAL)
    assert pre.verdict == "ACCEPT" and pre.packet.dst == EMPTY_IP
    fwd = walk(rules, "filter", "FORWARD", pre.packet, NODE_LOCAL)
    assert fwd.verdict == "REJECT" and fwd.hits[-1].rule.chain == "KUBE-SERVICES"
    assert fwd.detail == "REJECT (icmp-port-unreachable)"


def test_udp_dns_goes_to_kube_dns_endpoints():
    w = walk(parse(NODE_A), "nat", "PREROUTING", Packet(CLIENT, "10.224.0.10", "udp", 53), NODE_LOCAL)
    assert w.verdict == "DNAT" and w.packet.dport == 53 and len(w.choices[0].options) == 2


# Chains other branches add (NodePorts, NetworkPolicy) are walked by what they do, not by name.
EXTRA = """*nat
:PREROUTING ACCEPT [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-EXT-ABC - [0:0]
:KUBE-SVC-ABC - [0:0]
:KUBE-SEP-ONE - [0:0]
:KUBE-MARK-MASQ - [0:0]
-A PREROUTING -j KUBE-SERVICES
-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
-A KUBE-NODEPORTS -p tcp -m comment --comment "default/web" -m tcp --dport 30080 -j KUBE-EXT-ABC
-A KUBE-EXT-ABC -j KUBE-MARK-MASQ
-A KUBE-EXT-ABC -j KUBE-SVC-ABC
-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000
-A KUBE-SVC-ABC -j KUBE-SEP-ONE
-A KUBE-SEP-ONE -p tcp -m tcp -j DNAT --to-destination 10.160.2.3:8080
COMMIT
*filter
:FORWARD DROP [0:0]
:NETLAB-POLICY - [0:0]
-A FORWARD -o cni0 -j NETLAB-POLICY
-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A NETLAB-POLICY -d 10.160.1.9/32 -p tcp -m tcp --dport 8080 -j ACCEPT
-A NETLAB-POLICY -d 10.160.1.0/24 -m comment --comment "default/deny-all" -j DROP
COMMIT
"""


def test_nodeport_chains_are_followed_generically():
    w = walk(parse(EXTRA), "nat", "PREROUTING", Packet("172.30.48.1", "172.30.48.11", "tcp", 30080, in_iface="eth0"), NODE_LOCAL)
    assert w.chains == ("PREROUTING", "KUBE-SERVICES", "KUBE-NODEPORTS", "KUBE-EXT-ABC", "KUBE-MARK-MASQ", "KUBE-SVC-ABC", "KUBE-SEP-ONE")
    assert w.packet.dst == WEB_B and w.packet.mark == 0x4000


def test_a_policy_chain_drops_and_another_accepts():
    rules = parse(EXTRA)
    denied = walk(rules, "filter", "FORWARD", Packet(CLIENT, "10.160.1.7", "tcp", 80, in_iface="cni0", out_iface="cni0"))
    assert denied.verdict == "DROP" and denied.hits[-1].rule.comment == "default/deny-all"
    allowed = walk(rules, "filter", "FORWARD", Packet(CLIENT, "10.160.1.9", "tcp", 8080, in_iface="cni0", out_iface="cni0"))
    assert allowed.verdict == "ACCEPT" and allowed.detail == "ACCEPT"
    elsewhere = walk(rules, "filter", "FORWARD", Packet(CLIENT, WEB_B, "tcp", 8080, in_iface="cni0", out_iface="eth0"))
    assert elsewhere.verdict == "DROP" and elsewhere.detail == "policy DROP"


def test_an_unknown_match_is_reported_and_not_assumed():
    rules = parse("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m set --match-set blocked src -j DROP\nCOMMIT\n")
    w = walk(rules, "filter", "INPUT", tcp(CLIENT, WEB_A, 80))
    assert w.verdict == "ACCEPT" and w.unknown == ("INPUT rule 1: --match-set blocked src",)


def test_a_dual_stack_listener_in_tcp6_accepts_ipv4_too():
    from netlab.trace import sockets

    text = (
        "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
        "   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1\n"
        "   1: 00000000000000000000000001000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4343 1\n"
    )
    rows = sockets.parse_proc_net(text)
    assert [(r.address, r.port, r.inode) for r in rows] == [("::", 8080, 4242), ("::1", 80, 4343)]
    assert [r.inode for r in sockets.listening(rows, "tcp", 8080, "10.244.1.5")] == [4242]
