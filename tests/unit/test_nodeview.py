"""`describe node`: ranges, routes, bridge ports named by their pods, pods, rule counts."""

from pathlib import Path

from netlab.kernel.netlink import Route
from netlab.views.describe_node import NodeFacts, Port, lines
from netlab.trace.rules import parse

RULES = parse((Path(__file__).parent / "data" / "trace" / "node-a.iptables-save").read_text())


def facts(**changes) -> NodeFacts:
    base = dict(
        name="node-a", netns="lab.node-a", up=True, pod_cidr="10.160.1.0/24", gateway="10.160.1.1/24",
        underlay_ip="172.30.48.11", labels={"zone": "a"},
        routes=(Route("10.160.2.0/24", "172.30.48.12", "eth0", "unicast", 4, 0),),
        ports=(Port("vethclient", "default/client", "10.160.1.3"), Port("vethstray", None, None)),
        pods=(("default", "client", "10.160.1.3"),), rules=RULES,
    )  # fmt: skip
    return NodeFacts(**{**base, **changes})


def test_describe_node_shows_ranges_routes_ports_pods_and_chain_counts():
    text = "\n".join(lines(facts()))
    assert "PodCIDR:          10.160.1.0/24   (cni0 10.160.1.1/24" in text
    assert "InternalIP:       172.30.48.11" in text
    assert "  10.160.2.0/24 via 172.30.48.12 dev eth0" in text
    assert "vethclient       ⇄ eth0 of pod default/client (10.160.1.3)" in text
    assert "vethstray        ⇄ no pod of this lab" in text
    assert "  filter   8 chains, 13 rules" in text
    assert "KUBE-SVC-*: 3, KUBE-SEP-*: 6" in text


def test_a_failed_node_says_why_its_kernel_state_is_missing():
    text = "\n".join(lines(facts(up=False, routes=(), ports=(), rules=None, problem="namespace lab.node-a does not exist")))
    assert "Kernel:           unavailable: namespace lab.node-a does not exist" in text
    assert "iptables:  <unavailable>" in text
