"""`netlab graph`: every node, bridge, veth, pod IP and Service endpoint is in the picture."""

import re
import shutil
import subprocess

import pytest

from netlab.views import graph

FACTS = graph.LabFacts(
    cluster="lab",
    host_link="lab0",
    host_ip="172.30.48.1/24",
    nodes=(
        graph.NodeFact("node-a", "lab.node-a", "10.160.1.0/24", "10.160.1.1/24", "172.30.48.11"),
        graph.NodeFact("node-b", "lab.node-b", "10.160.2.0/24", "10.160.2.1/24", "172.30.48.12", up=False),
    ),
    pods=(
        graph.PodFact("default", "web-a", "10.160.1.4", "node-a", "vethaaaa", (("app", "web"),)),
        graph.PodFact("default", "client", "10.160.1.3", "node-a", "vethcccc"),
        graph.PodFact("other", "web-b", "10.160.2.3", "node-b", "vethbbbb", (("app", "web"),)),
    ),
    services=(graph.ServiceFact("default", "web", "10.224.0.20", ("80/TCP",), (("default/web-a", "10.160.1.4:8080"), ("other/web-b", "10.160.2.3:8080"))),),
)


def test_dot_names_every_object_and_draws_node_boxes():
    dot = graph.to_dot(FACTS)
    for text in ("10.160.1.4", "10.160.1.3", "10.160.2.3", "vethaaaa ⇄ eth0", "cni0 10.160.1.1/24", "eth0 172.30.48.12",
                 "app=web", "Service default/web", "DNAT 10.160.2.3:8080", "node node-b (DOWN)", "u-node-a ⇄ eth0"):
        assert text in dot, text
    assert len(re.findall(r"subgraph cluster", dot)) == 3  # the fabric and two nodes
    assert dot.count("{") == dot.count("}")


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
def test_graphviz_accepts_the_dot_and_the_svg_has_every_pod_ip():
    svg = subprocess.run(["dot", "-Tsvg"], input=graph.to_dot(FACTS), text=True, capture_output=True, check=True).stdout
    for ip in ("10.160.1.4", "10.160.1.3", "10.160.2.3"):
        assert ip in svg


def test_mermaid_has_subgraphs_per_node_and_dashed_service_edges():
    mmd = graph.to_mermaid(FACTS)
    assert mmd.startswith("flowchart TB\n")
    assert mmd.count("subgraph") == 3 and mmd.count("\n  end") == 3
    assert 'n_svc_default_web -.->|"10.160.2.3:8080"| n_pod_other_web_b' in mmd


def test_the_terminal_tree_lists_pods_under_their_bridge():
    from rich.console import Console

    console = Console(width=200, record=True)
    console.print(graph.to_tree(FACTS))
    text = console.export_text()
    assert "vethaaaa ⇄ eth0 10.160.1.4  pod default/web-a" in text
    assert "default/web  10.224.0.20 80/TCP → 10.160.1.4:8080 (default/web-a)" in text


def test_each_routing_mode_draws_its_crossing():
    from dataclasses import replace

    up = replace(FACTS, nodes=tuple(replace(n, up=True) for n in FACTS.nodes))
    assert "routes (host-gw)" in graph.to_dot(up)
    vxlan = graph.to_dot(replace(up, routing="vxlan"))
    assert "flannel.1 10.160.1.0/32" in vxlan and "VTEP · VNI 1 · udp/8472" in vxlan
    assert "VXLAN VNI 1" in vxlan and "routes (host-gw)" not in vxlan
    bgp = graph.to_dot(replace(up, routing="bgp"))
    assert "BIRD · AS 64512" in bgp and "routes (proto bird)" in bgp and "iBGP session" in bgp
    for dot in (vxlan, bgp):
        assert dot.count("{") == dot.count("}")
    if shutil.which("dot"):
        for dot in (vxlan, bgp):
            subprocess.run(["dot", "-Tsvg"], input=dot, text=True, capture_output=True, check=True)


DUAL = graph.LabFacts(
    cluster="lab",
    host_link="lab0",
    host_ip="172.30.48.1/24",
    nodes=(graph.NodeFact("node-a", "lab.node-a", "10.160.1.0/24, fd00:70:1:1::/64", "10.160.1.1/24, fd00:70:1:1::1/64", "172.30.48.11, fd00:72:1::11"),),
    pods=(graph.PodFact("default", "web-a", "10.160.1.4, fd00:70:1:1::4", "node-a", "vethaaaa"),),
    services=(),
    routing="vxlan",
)


def test_a_dual_stack_lab_draws_both_addresses_and_both_vteps():
    dot = graph.to_dot(DUAL)
    for text in ("10.160.1.4, fd00:70:1:1::4", "fd00:72:1::11", "flannel.1 10.160.1.0/32", "flannel-v6.1 fd00:70:1:1::/128"):
        assert text in dot, text
    assert "fd00:70:1:1::4" in graph.to_mermaid(DUAL)
