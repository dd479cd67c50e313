"""The lab as the kernel sees it: nodes are namespaces on a fabric switch, the host is fenced off.

Also: a second lab whose ranges overlap this one is refused and leaves nothing behind.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

import pytest

pytestmark = pytest.mark.root


def _inet(link: dict) -> list[str]:
    return [f"{a['local']}/{a['prefixlen']}" for a in link["addr_info"] if a["family"] == "inet"]


def _internal_ip(node: dict) -> str:
    return next(a["address"] for a in node["status"]["addresses"] if a["type"] == "InternalIP")


def test_the_lab_has_two_nodes_each_with_its_own_pod_subnet(lab):
    nodes = lab.get_json("nodes")["items"]

    assert [n["metadata"]["name"] for n in nodes] == ["node-a", "node-b"]
    subnets = [IPv4Network(n["spec"]["podCIDR"]) for n in nodes]
    assert all(s.subnet_of(lab.ranges.pod) for s in subnets)
    assert not subnets[0].overlaps(subnets[1])
    assert all(IPv4Address(_internal_ip(n)) in lab.ranges.underlay for n in nodes)


def test_each_node_is_a_network_namespace_next_to_the_fabric_switch(lab):
    assert {f"{lab.name}.fabric", f"{lab.name}.node-a", f"{lab.name}.node-b"} <= lab.netns()


def test_the_host_sees_one_veth_with_the_underlay_gateway_and_unreachable_guard_routes(lab):
    (link,) = lab.ip_json("addr", "show", "dev", f"{lab.name}0")
    underlay = lab.ranges.underlay
    assert _inet(link) == [f"{underlay.network_address + 1}/{underlay.prefixlen}"]

    guards = {r["dst"]: r.get("type") for r in lab.ip_json("route", "show", "proto", "212")}
    assert guards.get(str(lab.ranges.pod)) == "unreachable"
    assert guards.get(str(lab.ranges.service)) == "unreachable"


def test_a_node_forwards_owns_cni0_and_routes_to_the_other_nodes_pods_via_its_underlay_ip(lab):
    nodes = {n["metadata"]["name"]: n for n in lab.get_json("nodes")["items"]}
    subnet_a = IPv4Network(nodes["node-a"]["spec"]["podCIDR"])
    subnet_b = IPv4Network(nodes["node-b"]["spec"]["podCIDR"])
    node_a = lab.node_netns("node-a")

    # /proc/sys/net shows the reader's network namespace: this is node-a's own setting.
    assert lab.in_netns(node_a, "cat", "/proc/sys/net/ipv4/ip_forward").stdout.strip() == "1"
    # Bridged pod-to-pod packets must pass iptables, or Service DNAT misses same-node traffic.
    assert lab.in_netns(node_a, "cat", "/proc/sys/net/bridge/bridge-nf-call-iptables").stdout.strip() == "1"
    (cni0,) = lab.ip_json("addr", "show", "dev", "cni0", netns=node_a)
    assert _inet(cni0) == [f"{subnet_a.network_address + 1}/{subnet_a.prefixlen}"]
    to_b = [r for r in lab.ip_json("route", "show", netns=node_a) if r["dst"] == str(subnet_b)]
    assert [r.get("gateway") for r in to_b] == [_internal_ip(nodes["node-b"])]


def test_a_second_lab_whose_pod_range_overlaps_is_refused_and_nothing_is_created(lab, nl, free_ranges, leftovers, tmp_path):
    name = "x" + lab.name[1:]
    config = tmp_path / "overlap.yaml"
    config.write_text(
        "apiVersion: netlab.dev/v1alpha1\n"
        "kind: Cluster\n"
        f"metadata: {{name: {name}}}\n"
        "spec:\n"
        f"  podCIDR: {lab.ranges.pod}\n"
        f"  serviceCIDR: {free_ranges.service}\n"
        f"  underlayCIDR: {free_ranges.underlay}\n"
    )
    result = nl("cluster", "create", "--config", str(config), check=False)
    try:
        assert result.returncode == 4, result.stderr  # a range clash: an environment problem
        assert "overlaps" in result.stderr
        assert str(lab.ranges.pod) in result.stderr and lab.name in result.stderr
        assert leftovers(name, free_ranges) == []
    finally:
        if result.returncode == 0:
            nl("cluster", "delete", "--name", name, check=False)
