"""The nftables walker over a real node's table (captured from `nft -j list table ip kube-proxy`
and `nft -a list table …` on node-a of a lab in nftables mode: pod-service → pod-a, the NodePort
Service np → pod-a, the Service lonely without endpoints)."""

from __future__ import annotations

from pathlib import Path

from netlab.trace.nftwalk import parse_table, walk_hook
from netlab.trace.walk import Env, Packet

DATA = Path(__file__).parent / "data" / "trace"
TABLE = parse_table((DATA / "node-a.nft.json").read_text(), (DATA / "node-a.nft.txt").read_text())
NODE_A = Env(frozenset({"127.0.0.1", "172.30.181.11", "10.181.1.1"}))
POD_B = "10.181.2.3"


def test_a_cluster_ip_goes_through_the_service_map_to_an_endpoint_and_is_dnated():
    walks = walk_hook(TABLE, "prerouting", Packet(POD_B, "10.182.6.7", "tcp", 80), NODE_A)
    assert [w.hook for w in walks] == ["filter-prerouting", "nat-prerouting"]
    nat = walks[-1]
    assert nat.verdict == "DNAT" and nat.packet.dst == "10.181.1.3" and nat.packet.dport == 8080
    assert nat.chains[:2] == ("nat-prerouting", "services")
    assert nat.chains[2].startswith("service-") and nat.chains[3].startswith("endpoint-")
    assert "10.182.6.7 . tcp . 80 → goto service-" in nat.hits[1].note
    assert nat.choices[0].options[0].destination == "10.181.1.3:8080"


def test_a_service_without_endpoints_is_rejected_in_the_forward_hook():
    walks = walk_hook(TABLE, "forward", Packet(POD_B, "10.182.115.138", "tcp", 80), NODE_A)
    assert walks[-1].verdict == "REJECT"
    assert walks[-1].chains == ("filter-forward", "service-endpoints-check", "reject-chain")


def test_a_nodeport_answers_on_the_primary_address_only():
    on_primary = walk_hook(TABLE, "prerouting", Packet("172.30.181.1", "172.30.181.11", "tcp", 30080), NODE_A)
    assert on_primary[-1].verdict == "DNAT" and on_primary[-1].packet.dst == "10.181.1.3"
    assert on_primary[-1].packet.mark & 0x4000  # external traffic is marked for masquerade
    on_cni0 = walk_hook(TABLE, "prerouting", Packet(POD_B, "10.181.1.1", "tcp", 30080), NODE_A)
    assert on_cni0[-1].verdict == "ACCEPT" and on_cni0[-1].packet.dst == "10.181.1.1"


def test_marked_packets_are_masqueraded_and_others_are_not():
    marked = walk_hook(TABLE, "postrouting", Packet("172.30.181.1", "10.181.1.3", "tcp", 8080, mark=0x4000), NODE_A)
    assert marked[-1].verdict == "MASQUERADE" and marked[-1].packet.mark == 0
    plain = walk_hook(TABLE, "postrouting", Packet(POD_B, "10.181.1.3", "tcp", 8080), NODE_A)
    assert plain[-1].verdict == "ACCEPT"


def test_a_wrong_port_of_a_cluster_ip_is_rejected_and_an_unallocated_address_dropped():
    wrong_port = walk_hook(TABLE, "forward", Packet(POD_B, "10.182.6.7", "tcp", 81), NODE_A)
    assert wrong_port[-1].verdict == "REJECT" and wrong_port[-1].chains[-1] == "cluster-ips-check"
    unallocated = walk_hook(TABLE, "forward", Packet(POD_B, "10.182.9.9", "tcp", 80), NODE_A)
    assert unallocated[-1].verdict == "DROP"
