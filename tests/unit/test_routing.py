"""The three routing modes as plans (lab/routing.py): what each node must hold to reach the
other nodes' pods — routes (host-gw), flannel.1 with its neighbour and FDB entries (vxlan), or
a BIRD config for Calico's node-to-node mesh (bgp). Golden files pin the rendered plans.

Regenerate the golden files after an intended change with
`NETLAB_UPDATE_GOLDEN=1 python -m pytest tests/unit/test_routing.py`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from ipaddress import IPv4Address, IPv4Network, IPv6Address

import pytest

from netlab.api.addressing import from_config
from netlab.api.cluster import default_cluster
from netlab.errors import EnvironmentProblem
from netlab.lab import bird, routing

GOLDEN_DIR = os.path.join(os.path.dirname(__file__), "golden", "routing")


def topo(mode: str, nodes: int = 3, family: str | None = None):
    return from_config(default_cluster("lab", nodes, routing=mode, ip_family=family))


def golden(name: str, text: str) -> None:
    path = os.path.join(GOLDEN_DIR, name)
    if os.environ.get("NETLAB_UPDATE_GOLDEN"):
        os.makedirs(GOLDEN_DIR, exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
    assert os.path.exists(path), f"{path} is missing; run with NETLAB_UPDATE_GOLDEN=1 to create it"
    with open(path) as f:
        assert text == f.read()


@pytest.mark.parametrize("mode", routing.MODES)
def test_each_modes_plan_for_node_a_matches_its_golden_file(mode):
    t = topo(mode)
    plan = routing.plan(t, t.nodes[0])
    golden(f"{mode}-node-a.txt", "\n".join(plan.commands()) + "\n")
    if mode == "bgp":
        golden("bgp-node-a.bird.conf", plan.bird_config)


def test_host_gw_routes_each_other_block_via_its_nodes_underlay_address():
    t = topo("host-gw")
    plan = routing.plan(t, t.nodes[0], down=frozenset({"node-c"}))
    assert [r.text for r in plan.routes] == [
        "10.244.2.0/24 via 172.31.255.12 dev eth0",
        "10.244.3.0/24 via 172.31.255.13 dev eth0",  # a static route outlives its node
    ]
    assert plan.vtep is None and plan.bird_config is None


def test_vxlan_is_flannels_vtep_with_an_entry_per_live_node():
    t = topo("vxlan")
    plan = routing.plan(t, t.nodes[0], down=frozenset({"node-c"}))
    v = plan.vtep
    assert (v.name, v.vni, v.port, v.local, v.address, v.mtu) == (
        "flannel.1", 1, 8472, IPv4Address("172.31.255.11"), IPv4Address("10.244.1.0"), 1450
    )
    assert [(p.node, str(p.vtep_ip), str(p.underlay_ip)) for p in plan.peers] == [("node-b", "10.244.2.0", "172.31.255.12")]
    assert [r.text for r in plan.routes] == ["10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink"]
    # Each node's VTEP MAC is fixed: what node-a's entries name is node-b's own VTEP MAC.
    b = routing.plan(t, t.nodes[1]).vtep
    assert plan.peers[0].mac == b.mac != v.mac
    assert t.pod_mtu == 1450 and topo("host-gw").pod_mtu == topo("bgp").pod_mtu == 1500


def test_bgp_installs_no_route_itself_and_meshes_with_every_other_node():
    t = topo("bgp")
    plan = routing.plan(t, t.nodes[0], down=frozenset({"node-c"}))
    assert plan.routes == () and plan.vtep is None
    conf = plan.bird_config
    assert "route 10.244.1.0/24 blackhole;" in conf
    # The whole mesh is configured even while a node is down: BIRD keeps trying to reach it.
    assert "neighbor 172.31.255.12 as 64512;" in conf and "neighbor 172.31.255.13 as 64512;" in conf
    assert "neighbor 172.31.255.11" not in conf
    assert f"hold time {routing.BGP_HOLD};" in conf and routing.BGP_HOLD <= 3
    assert "export where source = RTS_BGP;" in conf


@pytest.mark.parametrize("mode", routing.MODES)
def test_each_modes_dual_stack_plan_for_node_a_matches_its_golden_file(mode):
    t = topo(mode, family="dual")
    plan = routing.plan(t, t.nodes[0])
    golden(f"{mode}-dual-node-a.txt", "\n".join(plan.commands()) + "\n")
    if mode == "bgp":
        golden("bgp-dual-node-a.bird.conf", plan.bird_config)


def test_vxlan_in_ipv6_is_flannels_second_vtep_with_its_own_entries():
    t = topo("vxlan", family="dual")
    plan = routing.plan(t, t.nodes[0], down=frozenset({"node-c"}))
    v4, v6 = plan.vteps
    assert v4.name == "flannel.1" and plan.vtep == v4
    assert (v6.name, v6.vni, v6.port, v6.local, v6.address, v6.family) == (
        "flannel-v6.1", 1, 8472, IPv6Address("fd00:172:31:255::11"), IPv6Address("fd00:10:244:1::"), 6
    )
    # An IPv6 outer header is 20 bytes longer: 1430 on flannel-v6.1, and the pods (one eth0 for
    # both families) take the smaller of the two.
    assert (v4.mtu, v6.mtu, t.pod_mtu) == (1450, 1430, 1430)
    assert v6.mac != v4.mac and v6.mac == routing.plan(t, t.nodes[0]).vteps[1].mac
    six = [p for p in plan.peers if p.dev == "flannel-v6.1"]
    assert [(p.node, str(p.vtep_ip), str(p.underlay_ip)) for p in six] == [("node-b", "fd00:10:244:2::", "fd00:172:31:255::12")]
    assert six[0].mac == routing.plan(t, t.nodes[1]).vteps[1].mac  # node-b's own flannel-v6.1
    assert [r.text for r in plan.routes] == [
        "10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink",
        "fd00:10:244:2::/64 via fd00:10:244:2:: dev flannel-v6.1 onlink",
    ]


def test_an_ipv6_only_vxlan_lab_has_only_flannel_v6():
    t = topo("vxlan", nodes=2, family="ipv6")
    plan = routing.plan(t, t.nodes[0])
    assert [v.name for v in plan.vteps] == ["flannel-v6.1"] and {p.dev for p in plan.peers} == {"flannel-v6.1"}
    assert t.pod_mtu == 1430


def test_bgp_in_ipv6_meshes_over_the_ipv6_underlay_with_ipv6_channels():
    t = topo("bgp", family="dual")
    conf = routing.plan(t, t.nodes[0]).bird_config
    assert "router id 172.31.255.11;" in conf
    assert "route fd00:10:244:1::/64 blackhole;" in conf and "protocol kernel kernel6 {" in conf
    assert "protocol bgp mesh6_node_b from mesh6 {\n  neighbor fd00:172:31:255::12 as 64512;" in conf
    assert "local fd00:172:31:255::11 as 64512;" in conf and 'export where proto = "blocks6";' in conf
    only6 = topo("bgp", nodes=2, family="ipv6")
    conf6 = routing.bird_config(only6, only6.nodes[1])
    # No IPv4 address to borrow: the router id is the low 32 bits of the IPv6 one (::12).
    assert "router id 0.0.0.18;" in conf6 and "ipv4" not in conf6 and "mesh6_node_a" in conf6


@pytest.mark.skipif(shutil.which("bird") is None, reason="BIRD 2 (bird2) is not installed")
@pytest.mark.parametrize("family", ["ipv4", "dual", "ipv6"])
def test_bird_itself_accepts_the_config(tmp_path, family):
    t = topo("bgp", family=family)
    conf = tmp_path / "bird.conf"
    conf.write_text(routing.bird_config(t, t.nodes[1]))
    result = subprocess.run(["bird", "-p", "-c", str(conf)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_bgp_without_bird_names_the_package_to_install(monkeypatch):
    monkeypatch.setattr(bird.shutil, "which", lambda tool: None)
    with pytest.raises(EnvironmentProblem) as info:
        bird.require_bird()
    assert "routing mode bgp" in info.value.message and "apt-get install bird2" in info.value.detail


def test_the_plan_subnets_are_the_nodes_blocks():
    t = topo("vxlan", nodes=2)
    assert [n.subnet for n in t.nodes] == [IPv4Network("10.244.1.0/24"), IPv4Network("10.244.2.0/24")]
