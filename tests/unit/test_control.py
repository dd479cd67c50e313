"""The pure controllers: scheduler, IPAM, endpoints."""

from ipaddress import IPv4Address, IPv4Network
import random

import pytest

from netlab.api.addressing import gateway
from netlab.apiserver import allocators
from netlab.kubelet import ipam
from netlab.controllers.endpoints import PodView, endpoints_for
from netlab.controllers.scheduler import NodeInfo, node_labels, schedule

NODES = [NodeInfo("node-a", node_labels("node-a", {"zone": "a"})), NodeInfo("node-b", node_labels("node-b", {"zone": "b"}))]


def test_scheduler_spreads_pods_to_the_node_with_fewest():
    assert schedule(None, {}, NODES, {}).node == "node-a"
    assert schedule(None, {}, NODES, {"node-a": 1}).node == "node-b"
    assert schedule(None, {}, NODES, {"node-a": 2, "node-b": 1}).node == "node-b"


def test_scheduler_honours_node_name_and_selector():
    assert schedule("node-b", {}, NODES, {"node-b": 9}).node == "node-b"
    assert schedule(None, {"zone": "b"}, NODES, {"node-b": 9}).node == "node-b"
    assert schedule(None, {"kubernetes.io/hostname": "node-a"}, NODES, {"node-a": 5}).node == "node-a"


def test_scheduler_explains_why_nothing_fits():
    decision = schedule(None, {"zone": "c"}, NODES, {})
    assert decision.node is None
    assert decision.reason == "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector."
    assert schedule("node-x", {}, NODES, {}).node is None
    cordoned = [NodeInfo("node-a", {}, schedulable=False)]
    assert "unschedulable" in schedule(None, {}, cordoned, {}).reason


def test_pod_ips_skip_network_and_gateway_and_continue_after_the_last():
    subnet = IPv4Network("10.244.1.0/24")
    assert gateway(subnet) == IPv4Address("10.244.1.1")
    first = ipam.allocate_pod_ip(subnet, set(), None)
    assert first == IPv4Address("10.244.1.2")
    # host-local style: a freed address is not handed out again right away (new pod, new IP)
    second = ipam.allocate_pod_ip(subnet, set(), first)
    assert second == IPv4Address("10.244.1.3")


def test_pod_ips_wrap_around_and_report_exhaustion():
    subnet = IPv4Network("10.0.0.0/29")  # .2 .. .6 usable
    assert ipam.allocate_pod_ip(subnet, {IPv4Address("10.0.0.2")}, IPv4Address("10.0.0.6")) == IPv4Address("10.0.0.3")
    used = {IPv4Address(f"10.0.0.{i}") for i in range(2, 7)}
    with pytest.raises(allocators.Exhausted):
        ipam.allocate_pod_ip(subnet, used, None)


def test_cluster_ips_are_free_addresses_in_range_and_never_the_first():
    cidr = IPv4Network("10.96.0.0/28")
    rng = random.Random(1)
    used = set()
    for _ in range(12):  # .2 .. .14 (13 usable) minus nothing taken yet
        ip = allocators.allocate_cluster_ip(cidr, used, rng)
        assert ip in cidr and ip not in used and ip != IPv4Address("10.96.0.1")
        used.add(ip)
    allocators.allocate_cluster_ip(cidr, used, rng)
    used = {IPv4Address(int(cidr.network_address) + i) for i in range(2, 15)}
    with pytest.raises(allocators.Exhausted):
        allocators.allocate_cluster_ip(cidr, used, rng)


def _pod(name, ip, labels, ports=(), ready=True, node="node-a", ns="default", hostname=None, subdomain=None):
    return PodView(ns, name, labels, ip, node, ready, hostname or name, subdomain, tuple(ports))


def test_endpoints_select_by_label_in_the_service_namespace():
    pods = [
        _pod("a", "10.244.1.2", {"app": "web"}),
        _pod("b", "10.244.2.2", {"app": "web"}, node="node-b"),
        _pod("c", "10.244.1.3", {"app": "db"}),
        _pod("d", "10.244.1.4", {"app": "web"}, ns="other"),
        _pod("e", None, {"app": "web"}),
    ]
    (port,) = endpoints_for("default", "web", {"app": "web"}, [("", "TCP", 80, 8080)], pods)
    assert [(b.ip, b.port, b.node) for b in port.backends] == [("10.244.1.2", 8080, "node-a"), ("10.244.2.2", 8080, "node-b")]


def test_named_target_port_resolves_per_pod_and_protocol():
    pods = [
        _pod("a", "10.244.1.2", {"app": "web"}, ports=[("http", 8080, "TCP")]),
        _pod("b", "10.244.1.3", {"app": "web"}, ports=[("http", 9090, "TCP")]),
        _pod("c", "10.244.1.4", {"app": "web"}, ports=[("http", 7070, "UDP")]),
    ]
    (port,) = endpoints_for("default", "web", {"app": "web"}, [("http", "TCP", 80, "http")], pods)
    assert [(b.ip, b.port) for b in port.backends] == [("10.244.1.2", 8080), ("10.244.1.3", 9090)]


def test_not_ready_pods_are_kept_but_marked_and_hostnames_follow_subdomain():
    pods = [
        _pod("web-0", "10.244.1.2", {"app": "web"}, ready=False, subdomain="web"),
        _pod("x", "10.244.1.3", {"app": "web"}, subdomain="other"),
    ]
    (port,) = endpoints_for("default", "web", {"app": "web"}, [("", "TCP", 80, 80)], pods)
    assert [(b.ready, b.hostname) for b in port.backends] == [(False, "web-0"), (True, None)]


def test_a_service_without_selector_has_no_endpoints():
    pods = [_pod("a", "10.244.1.2", {"app": "web"})]
    (port,) = endpoints_for("default", "web", None, [("", "TCP", 80, 80)], pods)
    assert port.backends == ()
