"""hostPort and hostNetwork: the portmap plugin's chains (pure), the scheduler's NodePorts
filter, and the API's rules."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from netlab.api.models import Pod
from netlab.controllers.scheduler import NodeInfo, host_ports, ports_conflict, schedule
from netlab.proxy.hostports import HostPort, PodHostPorts, pod_chain, render_hostports
from netlab.proxy.render import render_rules
from netlab.proxy.types import ProxyConfig

WEB = PodHostPorts("default/web", "uid-1", "10.244.1.5", (HostPort(8080, 80, "TCP"), HostPort(5353, 53, "UDP", "172.31.255.11")))


def test_portmap_chains_dnat_node_local_traffic_to_the_pod():
    nat = render_hostports([WEB])
    chain = pod_chain("uid-1")

    assert len(chain) == 28 and chain.startswith("CNI-DN-")
    assert nat.jumps == (
        "-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT",
        "-A OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT",
        '-A POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ',
    )
    assert f"-A {chain} -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.244.1.5:80" in nat.rules
    assert f"-A {chain} -s 10.244.1.5/32 -p tcp -m tcp --dport 8080 -j CNI-HOSTPORT-SETMARK" in nat.rules  # hairpin
    # hostIP: only traffic to that address of the node
    assert f"-A {chain} -d 172.31.255.11/32 -p udp -m udp --dport 5353 -j DNAT --to-destination 10.244.1.5:53" in nat.rules
    assert any(r.startswith("-A CNI-HOSTPORT-DNAT -p udp") and "--dports 5353" in r for r in nat.rules)


def test_in_ipv6_the_chains_carry_the_pods_ipv6_address_and_no_loopback_rule():
    web6 = PodHostPorts("default/web", "uid-1", "fd00:10:244:1::5", WEB.ports + (HostPort(9090, 90, "TCP", "fd00:172:31:255::11"),))
    nat = render_hostports([web6], 6)
    chain = pod_chain("uid-1")

    assert f"-A {chain} -p tcp -m tcp --dport 8080 -j DNAT --to-destination [fd00:10:244:1::5]:80" in nat.rules
    assert f"-A {chain} -s fd00:10:244:1::5/128 -p tcp -m tcp --dport 8080 -j CNI-HOSTPORT-SETMARK" in nat.rules
    assert not any("127.0.0.1" in r or "-s ::1/128" in r for r in nat.rules)
    # A hostIP of one family forwards in that family only.
    assert not any("--dport 5353" in r for r in nat.rules)
    assert f"-A {chain} -d fd00:172:31:255::11/128 -p tcp -m tcp --dport 9090 -j DNAT --to-destination [fd00:10:244:1::5]:90" in nat.rules
    assert not any("--dport 9090" in r for r in render_hostports([PodHostPorts("default/web", "uid-1", "10.244.1.5", web6.ports)], 4).rules)


def test_no_host_ports_no_chains_and_the_payload_is_as_before():
    assert render_hostports([PodHostPorts("default/a", "u", "10.244.1.6", ())]).chains == ()
    config = ProxyConfig(cluster_cidr="10.244.0.0/16", node_name="node-a")
    with_ports = render_rules([], config, hostports=render_hostports([WEB]))
    assert "CNI-HOSTPORT-DNAT" not in render_rules([], config)
    assert with_ports.index("-A PREROUTING -m comment") < with_ports.index("-A PREROUTING -m addrtype")  # kube-proxy's first


@pytest.mark.parametrize(
    ("used", "wanted", "conflict"),
    [
        ({("0.0.0.0", "TCP", 80)}, {("10.0.0.1", "TCP", 80)}, True),
        ({("10.0.0.1", "TCP", 80)}, {("0.0.0.0", "TCP", 80)}, True),
        ({("10.0.0.1", "TCP", 80)}, {("10.0.0.1", "TCP", 80)}, True),
        ({("10.0.0.2", "TCP", 80)}, {("10.0.0.1", "TCP", 80)}, False),
        ({("0.0.0.0", "UDP", 80)}, {("0.0.0.0", "TCP", 80)}, False),
        ({("0.0.0.0", "TCP", 81)}, {("0.0.0.0", "TCP", 80)}, False),
    ],
)
def test_conflicts_as_the_scheduler_decides_them(used, wanted, conflict):
    assert ports_conflict(used, frozenset(wanted)) is conflict


def test_a_pod_goes_where_its_host_port_is_free_or_nowhere():
    nodes = [NodeInfo("node-a"), NodeInfo("node-b")]
    wanted = frozenset({("0.0.0.0", "TCP", 8080)})

    assert schedule(None, {}, nodes, {}, wanted, {"node-a": {("0.0.0.0", "TCP", 8080)}}).node == "node-b"
    full = schedule(None, {}, nodes, {}, wanted, {"node-a": set(wanted), "node-b": set(wanted)})
    assert full.node is None
    assert full.reason == "0/2 nodes are available: 2 node(s) didn't have free ports for the requested pod ports."


def pod(spec: dict) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec}


def test_a_host_network_pod_holds_its_container_ports():
    manifest = pod({"hostNetwork": True, "containers": [{"name": "c", "image": "x", "ports": [{"containerPort": 53, "protocol": "UDP"}]}]})
    assert host_ports(manifest) == {("0.0.0.0", "UDP", 53)}
    assert Pod.model_validate(manifest).spec.hostNetwork is True


def test_a_host_network_pods_host_port_must_be_its_container_port():
    manifest = pod({"hostNetwork": True, "containers": [{"name": "c", "image": "x", "ports": [{"containerPort": 80, "hostPort": 8080}]}]})
    with pytest.raises(ValidationError, match="must match `containerPort` when `hostNetwork` is true"):
        Pod.model_validate(manifest)
