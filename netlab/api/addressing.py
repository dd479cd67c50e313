"""The lab's addressing plan, derived from a Cluster config (pure).

Flannel/kubeadm conventions: node i gets the (i+1)-th /24 of the pod CIDR (10.244.1.0/24,
10.244.2.0/24, …) with the bridge's address (.1) as the pods' gateway; on the underlay the
host is .1 and node i is .(11+i). In IPv6 the same numbers: node i gets the (i+1)-th /64
(fd00:10:244:1::/64, gateway ::1) and underlay address ::(11+i).

Every per-family tuple lists the primary family first; the singular fields (`subnet`,
`underlay_ip`, `pod_cidr`, `service_cidr`, `dns_ip`, …) are the primary family's.
"""

from __future__ import annotations

import functools

from collections.abc import Mapping
from dataclasses import dataclass, field
from ipaddress import (
    IPv4Address,
    IPv4Interface,
    IPv4Network,
    IPv6Address,
    IPv6Interface,
    IPv6Network,
    ip_interface,
)

from netlab.api.families import family_of

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

# The underlay is Ethernet; flannel's vxlan backend takes 50 bytes of each frame for its outer
# headers (outer IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14), so the overlay and the pods get
# 1450 (flannel's FLANNEL_MTU) and a full-size pod packet still fits the wire unfragmented.
UNDERLAY_MTU = 1500
VXLAN_OVERHEAD = 50
# Over the IPv6 underlay (flannel-v6.1) the outer IP header is 40 bytes, not 20: 70 in all, as
# Calico counts it (felix vxlanV6MTUOverhead). flannel itself takes 50 for both VTEPs and
# leaves the difference to fragmentation; netlab sizes pods so a full packet fits either way.
VXLAN_OVERHEAD_IPV6 = 70


def vxlan_mtu(family: int) -> int:
    """The MTU of the VTEP that carries `family` (flannel.1: 1450, flannel-v6.1: 1430)."""
    return UNDERLAY_MTU - (VXLAN_OVERHEAD_IPV6 if family == 6 else VXLAN_OVERHEAD)


def _for_family(items, family: int):
    return next((item for item in items if item.version == family), None)


@dataclass(frozen=True)
class NodeNet:
    name: str
    index: int
    subnets: tuple[IPNetwork, ...]  # the node's pod subnet per family (/24, /64)
    underlay_ips: tuple[IPAddress, ...]
    labels: Mapping[str, str] = field(default_factory=dict, hash=False)

    @property
    def subnet(self) -> IPNetwork:
        return self.subnets[0]

    @property
    def underlay_ip(self) -> IPAddress:
        return self.underlay_ips[0]

    @property
    def gateway(self) -> IPAddress:
        return gateway(self.subnet)

    @property
    def gateways(self) -> tuple[IPAddress, ...]:
        return tuple(gateway(s) for s in self.subnets)

    def subnet_for(self, family: int) -> IPNetwork | None:
        return _for_family(self.subnets, family)

    def underlay_ip_for(self, family: int) -> IPAddress | None:
        return _for_family(self.underlay_ips, family)

    def gateway_for(self, family: int) -> IPAddress | None:
        subnet = self.subnet_for(family)
        return gateway(subnet) if subnet is not None else None


@dataclass(frozen=True)
class Topology:
    cluster: str
    nodes: tuple[NodeNet, ...]
    pod_cidrs: tuple[IPNetwork, ...]
    service_cidrs: tuple[IPNetwork, ...]
    dns_ips: tuple[IPAddress, ...]  # the cluster DNS Service's address per family
    underlays: tuple[IPNetwork, ...]
    domain: str
    routing: str = "host-gw"
    kube_proxy_mode: str = "iptables"  # kube-proxy's mode: "iptables" or "nftables"

    @functools.cached_property
    def families(self) -> tuple[int, ...]:  # asked per Service and per port in a publish: kept
        return tuple(n.version for n in self.pod_cidrs)

    @property
    def dual_stack(self) -> bool:
        return len(self.families) > 1

    @property
    def pod_cidr(self) -> IPNetwork:
        return self.pod_cidrs[0]

    @property
    def service_cidr(self) -> IPNetwork:
        return self.service_cidrs[0]

    @property
    def dns_ip(self) -> IPAddress:
        return self.dns_ips[0]

    @property
    def underlay(self) -> IPNetwork:
        return self.underlays[0]

    def pod_cidr_for(self, family: int) -> IPNetwork | None:
        return _for_family(self.pod_cidrs, family)

    def service_cidr_for(self, family: int) -> IPNetwork | None:
        return _for_family(self.service_cidrs, family)

    def dns_ip_for(self, family: int) -> IPAddress | None:
        return _for_family(self.dns_ips, family)

    def underlay_for(self, family: int) -> IPNetwork | None:
        return _for_family(self.underlays, family)

    @property
    def pod_mtu(self) -> int:
        """The MTU of pods' eth0, their veths and cni0 (the overlay's, in vxlan mode: the
        smallest of the lab's VTEPs, as one eth0 carries both families)."""
        return min(vxlan_mtu(f) for f in self.families) if self.routing == "vxlan" else UNDERLAY_MTU

    @property
    def host_interfaces(self) -> tuple[IPv4Interface | IPv6Interface, ...]:
        """The host's end of the underlay: .1 (and ::1) of each underlay range."""
        return tuple(ip_interface(f"{u.network_address + 1}/{u.prefixlen}") for u in self.underlays)

    @property
    def host_interface(self) -> IPv4Interface | IPv6Interface:
        return self.host_interfaces[0]

    def node(self, name: str) -> NodeNet:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)

    def node_for_ip(self, ip: IPAddress) -> NodeNet | None:
        return next((n for n in self.nodes if any(ip in s for s in n.subnets if s.version == ip.version)), None)

    @property
    def lab_ranges(self) -> tuple[IPNetwork, ...]:
        """The ranges the host must never route anywhere but into the lab."""
        return (*self.pod_cidrs, *self.service_cidrs, *self.underlays)


def from_config(config) -> Topology:
    """Build the plan from a validated `netlab.api.cluster.ClusterConfig`."""
    nodes = tuple(
        NodeNet(
            name=name,
            index=i,
            subnets=config.node_pod_cidrs(i),
            underlay_ips=config.node_underlay_ips(name),
            labels=dict(config.nodes[i].labels or {}),
        )
        for i, name in enumerate(config.node_names)
    )
    return Topology(
        cluster=config.name,
        nodes=nodes,
        pod_cidrs=tuple(config.podCIDR),
        service_cidrs=tuple(config.serviceCIDR),
        dns_ips=tuple(config.cluster_dns_ips),
        underlays=tuple(config.underlayCIDR),
        domain=config.domain,
        routing=config.routing,
        kube_proxy_mode=config.kubeProxyMode,
    )


def gateway(subnet: IPNetwork) -> IPAddress:
    """The node bridge's address (cni0): the first host of the node's subnet."""
    return subnet.network_address + 1


def in_pool(ip: IPAddress, pool: tuple[IPAddress, IPAddress] | None) -> bool:
    return pool is not None and pool[0].version == ip.version and pool[0] <= ip <= pool[1]


def cluster_ranges(config) -> dict[str, IPNetwork]:
    """A Cluster config's ranges by field name (the second family's as `podCIDR[1]` …): what
    must not overlap the host's or another lab's."""
    ranges: dict[str, IPNetwork] = {}
    for field_name in ("podCIDR", "serviceCIDR", "underlayCIDR"):
        for i, net in enumerate(getattr(config, field_name)):
            ranges[field_name if i == 0 else f"{field_name}[{i}]"] = net
    return ranges


__all__ = ["NodeNet", "Topology", "family_of", "from_config", "gateway", "in_pool", "cluster_ranges"]
