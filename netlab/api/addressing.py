"""The lab's addressing plan, derived from a Cluster config (pure).

Flannel/kubeadm conventions: node i gets the (i+1)-th /24 of the pod CIDR (10.244.1.0/24,
10.244.2.0/24, …) with the bridge's address (.1) as the pods' gateway; on the underlay the
host is .1 and node i is .(11+i).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import Mapping

# The underlay is Ethernet; flannel's vxlan backend takes 50 bytes of each frame for its outer
# headers (outer IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14), so the overlay and the pods get
# 1450 (flannel's FLANNEL_MTU) and a full-size pod packet still fits the wire unfragmented.
UNDERLAY_MTU = 1500
VXLAN_OVERHEAD = 50


@dataclass(frozen=True)
class NodeNet:
    name: str
    index: int
    subnet: IPv4Network  # the node's pod /24
    underlay_ip: IPv4Address
    labels: Mapping[str, str] = field(default_factory=dict, hash=False)

    @property
    def gateway(self) -> IPv4Address:
        return gateway(self.subnet)


@dataclass(frozen=True)
class Topology:
    cluster: str
    nodes: tuple[NodeNet, ...]
    pod_cidr: IPv4Network
    service_cidr: IPv4Network
    dns_ip: IPv4Address
    underlay: IPv4Network
    domain: str
    routing: str = "host-gw"
    kube_proxy_mode: str = "iptables"  # kube-proxy's mode: "iptables" or "nftables"

    @property
    def pod_mtu(self) -> int:
        """The MTU of pods' eth0, their veths and cni0 (the overlay's, in vxlan mode)."""
        return UNDERLAY_MTU - VXLAN_OVERHEAD if self.routing == "vxlan" else UNDERLAY_MTU

    @property
    def host_interface(self) -> IPv4Interface:
        return IPv4Interface(f"{self.underlay.network_address + 1}/{self.underlay.prefixlen}")

    def node(self, name: str) -> NodeNet:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)

    def node_for_ip(self, ip: IPv4Address) -> NodeNet | None:
        return next((n for n in self.nodes if ip in n.subnet), None)

    @property
    def lab_ranges(self) -> tuple[IPv4Network, ...]:
        """The ranges the host must never route anywhere but into the lab."""
        return (self.pod_cidr, self.service_cidr, self.underlay)


def from_config(config) -> Topology:
    """Build the plan from a validated `netlab.api.cluster.ClusterConfig`."""
    nodes = tuple(
        NodeNet(
            name=name,
            index=i,
            subnet=config.node_pod_cidr(i),
            underlay_ip=config.node_underlay_ip(name),
            labels=dict(config.nodes[i].labels or {}),
        )
        for i, name in enumerate(config.node_names)
    )
    return Topology(
        cluster=config.name,
        nodes=nodes,
        pod_cidr=config.podCIDR,
        service_cidr=config.serviceCIDR,
        dns_ip=config.clusterDNS,
        underlay=config.underlayCIDR,
        domain=config.domain,
        routing=config.routing,
        kube_proxy_mode=config.kubeProxyMode,
    )


def gateway(subnet: IPv4Network) -> IPv4Address:
    """The node bridge's address (cni0): the first host of the node's /24."""
    return subnet.network_address + 1


def in_pool(ip: IPv4Address, pool: tuple[IPv4Address, IPv4Address] | None) -> bool:
    return pool is not None and pool[0] <= ip <= pool[1]


def cluster_ranges(config) -> dict[str, IPv4Network]:
    """A Cluster config's ranges by field name: what must not overlap the host's or another lab's."""
    return {"podCIDR": config.podCIDR, "serviceCIDR": config.serviceCIDR, "underlayCIDR": config.underlayCIDR}
