"""Reaching Services from outside, without root: NodePort and load-balancer allocation, MetalLB's
L2 election, the Cluster config's pool, stale UDP flows, and what apply refuses."""

from __future__ import annotations

import random
from collections import Counter
from ipaddress import IPv4Address

import pytest

from netlab.apiserver import admission, registry
from netlab.metallb import controller as metallb
from netlab.api.cluster import cluster_from_document, default_cluster
from netlab.api.models import Service
from netlab.apiserver.allocators import Exhausted
from netlab.metallb.pool import Announcement, allocate_lb_ip, assign, elect
from netlab.apiserver.allocators import allocate_node_port, static_band_size
from netlab.errors import InvalidInput
from netlab.kernel.arp import frame
from netlab.apiserver.state import Lab
from netlab.proxy import Endpoint, ServicePortInfo
from netlab.proxy.conntrack import stale_flow_filters, udp_state
from netlab.apiserver.store import Store
from netlab.api.addressing import from_config

# --- NodePorts ---------------------------------------------------------------------------------


def test_automatic_nodeports_come_from_the_upper_band_first_like_the_apiserver():
    ports = range(30000, 32768)
    assert static_band_size(ports) == 86  # 2768 // 32, between 16 and 128
    picked = {allocate_node_port(ports, set(), random.Random(i)) for i in range(200)}
    assert min(picked) >= 30086 and max(picked) <= 32767


def test_nodeport_allocation_skips_used_ports_and_falls_back_to_the_static_band():
    ports = range(30000, 30100)  # static band: 16
    used = set(range(30016, 30100))
    assert 30000 <= allocate_node_port(ports, used, random.Random(1)) < 30016
    with pytest.raises(Exhausted):
        allocate_node_port(ports, set(ports))


# --- MetalLB ------------------------------------------------------------------------------------


def test_the_pool_hands_out_its_lowest_free_address():
    pool = (IPv4Address("172.31.255.200"), IPv4Address("172.31.255.202"))
    assert allocate_lb_ip(pool, {IPv4Address("172.31.255.200")}) == IPv4Address("172.31.255.201")
    assert allocate_lb_ip(pool, {IPv4Address(f"172.31.255.{i}") for i in (200, 201, 202)}) is None


def test_each_address_has_one_stable_owner_and_addresses_spread_over_nodes():
    nodes = ["node-a", "node-b", "node-c"]
    owners = {f"172.31.255.{i}": elect(f"172.31.255.{i}", nodes) for i in range(200, 251)}
    assert owners == {ip: elect(ip, list(reversed(nodes))) for ip in owners}  # order does not matter
    assert set(Counter(owners.values())) == set(nodes)


def test_when_the_owner_fails_only_its_addresses_move():
    nodes = ["node-a", "node-b", "node-c"]
    ips = [f"172.31.255.{i}" for i in range(200, 251)]
    before = assign([Announcement(ip, tuple(nodes)) for ip in ips], nodes)
    after = assign([Announcement(ip, tuple(nodes)) for ip in ips], ["node-a", "node-c"])
    for ip in ips:
        if before[ip] != "node-b":
            assert after[ip] == before[ip]
        else:
            assert after[ip] in {"node-a", "node-c"}


def test_local_policy_addresses_go_only_to_nodes_with_an_endpoint_and_else_nowhere():
    healthy = ["node-a", "node-b"]
    assert assign([Announcement("172.31.255.200", ("node-b",))], healthy) == {"172.31.255.200": "node-b"}
    assert assign([Announcement("172.31.255.200", ())], healthy) == {}


def test_gratuitous_arp_frame_is_a_broadcast_reply_for_the_address():
    data = frame("02:00:00:00:00:0b", IPv4Address("172.31.255.200"))
    assert data[:6] == b"\xff" * 6 and data[12:14] == b"\x08\x06"
    assert data[20:22] == b"\x00\x02"  # op: reply
    assert data[28:32] == data[38:42] == IPv4Address("172.31.255.200").packed
    assert data[22:28] == data[32:38] == bytes.fromhex("02000000000b")  # what makes Linux accept it
    assert len(data) == 42


# --- the Cluster config's pool --------------------------------------------------------------------


def _cluster(spec):
    return cluster_from_document({"apiVersion": "netlab.dev/v1alpha1", "kind": "Cluster", "metadata": {"name": "x"}, "spec": spec})


def test_the_default_pool_is_the_top_of_the_underlay():
    assert default_cluster().loadBalancerPool == "172.31.255.200-172.31.255.250"
    assert _cluster({"underlayCIDR": "172.30.7.0/24"}).load_balancer_range == (IPv4Address("172.30.7.200"), IPv4Address("172.30.7.250"))
    assert _cluster({"underlayCIDR": "172.30.7.0/25"}).loadBalancerPool is None  # too small: <pending>
    assert _cluster({"loadBalancerPool": "172.31.255.64/28"}).load_balancer_range == (IPv4Address("172.31.255.64"), IPv4Address("172.31.255.79"))


@pytest.mark.parametrize(
    ("pool", "message"),
    [
        ("10.0.0.1-10.0.0.9", "must lie inside spec.underlayCIDR"),
        ("172.31.255.1-172.31.255.9", "172.31.255.1"),
        ("172.31.255.10-172.31.255.12", "172.31.255.11, 172.31.255.12"),
        ("172.31.255.9-172.31.255.3", "address range"),
        ("lots", "address range"),
    ],
)
def test_a_pool_outside_the_underlay_or_over_infrastructure_is_refused(pool, message):
    with pytest.raises(InvalidInput, match="spec.loadBalancerPool") as err:
        _cluster({"loadBalancerPool": pool})
    assert message in str(err.value)


# --- stale UDP flows -----------------------------------------------------------------------------


def _dns(*endpoints: str, node_port: int = 0) -> ServicePortInfo:
    eps = tuple(Endpoint(ip, 53, "node-a") for ip in endpoints)
    return ServicePortInfo("kube-system", "dns", "", "UDP", "10.96.0.10", 53, eps, node_port=node_port, external_ips=("172.31.255.100",))


def test_a_gone_udp_endpoint_loses_its_flows_to_every_service_address_and_the_nodeport():
    before = udp_state([_dns("10.244.1.2", "10.244.2.2", node_port=30053)])
    after = udp_state([_dns("10.244.2.2", node_port=30053)])
    assert stale_flow_filters(before, after) == [
        ["-p", "udp", "--orig-dst", "10.96.0.10", "--dst-nat", "10.244.1.2"],
        ["-p", "udp", "--orig-dst", "172.31.255.100", "--dst-nat", "10.244.1.2"],
        ["-p", "udp", "--orig-port-dst", "30053", "--dst-nat", "10.244.1.2"],
    ]


def test_a_udp_service_that_gets_its_first_endpoint_loses_the_flows_made_while_it_had_none():
    assert stale_flow_filters(udp_state([_dns()]), udp_state([_dns("10.244.1.2")])) == [
        ["-p", "udp", "--orig-dst", "10.96.0.10", "--orig-port-dst", "53"],
        ["-p", "udp", "--orig-dst", "172.31.255.100", "--orig-port-dst", "53"],
    ]


def test_tcp_and_unchanged_udp_services_need_no_flush():
    tcp = ServicePortInfo("default", "web", "", "TCP", "10.96.0.20", 80, (Endpoint("10.244.1.2", 80, "node-a"),))
    state = udp_state([tcp, _dns("10.244.1.2")])
    assert list(state) == ["kube-system/dns"]
    assert stale_flow_filters(state, state) == []


# --- apply: validation and allocation (store only, no kernel) -------------------------------------


@pytest.fixture
def lab(tmp_path):
    config = default_cluster("unit")
    store = Store(str(tmp_path / "state.db"))
    yield Lab(config, from_config(config), store, str(tmp_path))
    store.close()


def svc(name: str, **spec) -> Service:
    body = {"selector": {"app": "web"}, "ports": [{"port": 80}], **spec}
    return Service.model_validate({"metadata": {"name": name, "namespace": "default"}, "spec": body})


def store_service(lab: Lab, service: Service, status: dict | None = None) -> None:
    with lab.store.transaction():
        lab.store.put("Service", "default", service.metadata.name, service.to_dict())
        lab.store.set_status("Service", "default", service.metadata.name, status or {})


def problems(lab: Lab, *services: Service) -> list[str]:
    exposure = admission._Exposure.of(lab)
    return [p for s in services for p in exposure.check(lab, s, f"f.yaml: Service default/{s.metadata.name}")]


def test_nodeports_out_of_range_or_taken_are_refused_naming_file_and_field(lab):
    store_service(lab, svc("old", type="NodePort"), {"nodePorts": {"": 30080}})
    found = problems(
        lab,
        svc("a", type="NodePort", ports=[{"port": 80, "nodePort": 40000}]),
        svc("b", type="NodePort", ports=[{"port": 80, "nodePort": 30080}]),
        svc("c", type="NodePort", ports=[{"port": 80, "nodePort": 30500}]),
        svc("d", type="NodePort", ports=[{"port": 80, "nodePort": 30500}]),  # same batch
    )
    assert found == [
        "f.yaml: Service default/a: spec.ports[0].nodePort: Invalid value: 40000: provided port is not in the valid range. "
        "The range of valid ports is 30000-32767",
        "f.yaml: Service default/b: spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated "
        "(to service default/old)",
        "f.yaml: Service default/d: spec.ports[0].nodePort: Invalid value: 30500: provided port is already allocated "
        "(to service default/c)",
    ]


def test_the_same_nodeport_for_tcp_and_udp_of_one_service_is_fine_but_not_twice_per_protocol():
    ok = svc("dns", type="NodePort", ports=[
        {"name": "u", "port": 53, "protocol": "UDP", "nodePort": 30053},
        {"name": "t", "port": 53, "protocol": "TCP", "nodePort": 30053},
    ])  # fmt: skip
    assert ok.spec.ports[1].nodePort == 30053
    with pytest.raises(ValueError, match="nodePort"):
        svc("dup", type="NodePort", ports=[{"name": "a", "port": 53, "nodePort": 30053}, {"name": "b", "port": 54, "nodePort": 30053}])


def test_load_balancer_ip_and_external_ips_must_be_routable_in_the_lab(lab):
    store_service(lab, svc("lb", type="LoadBalancer"), {"loadBalancer": {"ingress": [{"ip": "172.31.255.200"}]}})
    found = problems(
        lab,
        svc("in-use", type="LoadBalancer", loadBalancerIP="172.31.255.200"),
        svc("outside", type="LoadBalancer", loadBalancerIP="172.31.255.100"),
        svc("ext", externalIPs=["8.8.8.8", "172.31.255.11", "172.31.255.210", "172.31.255.100"]),
    )
    assert len(found) == 5
    assert "already allocated (to service default/lb)" in found[0]
    assert "not in the cluster's load-balancer pool 172.31.255.200-172.31.255.250" in found[1]
    assert "spec.externalIPs[0]" in found[2] and "underlay 172.31.255.0/24" in found[2]
    assert "spec.externalIPs[1]" in found[3] and "node's own" in found[3]
    assert "spec.externalIPs[2]" in found[4] and "load-balancer pool" in found[4]


def test_nodeports_are_kept_by_port_name_and_released_on_type_change(lab):
    nodeport = svc("web", type="NodePort", ports=[{"name": "http", "port": 80}, {"name": "admin", "port": 81, "nodePort": 30081}])
    store_service(lab, nodeport)
    registry._assign_node_ports(lab, nodeport, set())
    first = lab.store.get("Service", "default", "web").status["nodePorts"]
    assert first["admin"] == 30081 and 30000 <= first["http"] <= 32767
    as_lb = svc("web", type="LoadBalancer", ports=[{"name": "http", "port": 80}, {"name": "admin", "port": 81}])
    registry._assign_node_ports(lab, as_lb, set())
    assert lab.store.get("Service", "default", "web").status["nodePorts"] == first
    lab.store.set_status("Service", "default", "web", {**lab.store.get("Service", "default", "web").status, "loadBalancer": {"ingress": [{"ip": "172.31.255.200"}]}})
    registry._assign_node_ports(lab, svc("web"), set())
    status = lab.store.get("Service", "default", "web").status
    assert "nodePorts" not in status and "loadBalancer" not in status


def test_the_metallb_controller_allocates_in_creation_order_honours_requests_and_stays_pending_when_full(lab):
    store_service(lab, svc("first", type="LoadBalancer"))
    store_service(lab, svc("asks", type="LoadBalancer", loadBalancerIP="172.31.255.250"))
    store_service(lab, svc("plain"))
    metallb.allocate(lab)
    ips = {o.name: metallb.ingress_ips(o.status) for o in lab.store.list("Service")}
    assert ips == {"first": ["172.31.255.200"], "asks": ["172.31.255.250"], "plain": []}
    metallb.allocate(lab)  # level-triggered: nothing moves
    assert {o.name: metallb.ingress_ips(o.status) for o in lab.store.list("Service")} == ips
    for i in range(201, 250):
        store_service(lab, svc(f"fill-{i}", type="LoadBalancer", loadBalancerIP=f"172.31.255.{i}"))
    metallb.allocate(lab)
    store_service(lab, svc("late", type="LoadBalancer"))
    metallb.allocate(lab)
    late = lab.store.get("Service", "default", "late")
    assert metallb.ingress_ips(late.status) == [] and late.status.get("lbPending")
    assert any(e.reason == "AllocationFailed" for _, e in lab.store.events())
