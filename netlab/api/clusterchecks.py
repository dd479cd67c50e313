"""The cross-field checks of a Cluster config (cluster.py), each problem with its field: the
ranges hold ipFamily's families in one order, do not overlap, have room for every node's
subnet and underlay address; clusterDNS lies in the primary service range; the load-balancer
pool lies in the underlay of its family, clear of the host and the nodes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from netlab.api.clusterfields import IPAddress
from netlab.api.families import (
    FAMILY_NAMES,
    HOST_UNDERLAY_OFFSET,
    IP_FAMILIES,
    NODE_UNDERLAY_OFFSET,
    underlay_host,
)
from netlab.api.field import ProblemList, invalid_value

if TYPE_CHECKING:
    from netlab.api.cluster import ClusterConfig

def check_families(self: ClusterConfig, problems: ProblemList) -> bool:
    """Every range holds exactly ipFamily's families, in one order (the first is the primary)."""
    wanted = IP_FAMILIES[self.ipFamily]
    order = tuple(n.version for n in self.podCIDR)
    if sorted(order) != sorted(wanted):
        order = wanted  # podCIDR's own problem is reported; the others follow ipFamily
    ok = True
    for field in ("podCIDR", "serviceCIDR", "underlayCIDR"):
        networks = getattr(self, field)
        families = tuple(n.version for n in networks)
        text = ",".join(str(n) for n in networks)
        if sorted(families) != sorted(wanted):
            names_ = " and ".join(FAMILY_NAMES[f] for f in wanted)
            problems.add(
                (field,),
                invalid_value(text, f"must hold one {names_} CIDR for spec.ipFamily {self.ipFamily}"),
            )
            ok = False
        elif families != order:
            problems.add(
                (field,),
                invalid_value(text, "must list the families in the order of spec.podCIDR (the first is the primary)"),
            )
            ok = False
    return ok

def check_ranges(self: ClusterConfig, problems: ProblemList) -> None:
    ranges = [(field, net) for field in ("podCIDR", "serviceCIDR", "underlayCIDR") for net in getattr(self, field)]
    for i, (field, net) in enumerate(ranges):
        for other, other_net in ranges[:i]:
            if net.version == other_net.version and net.overlaps(other_net):
                problems.add((field,), invalid_value(str(net), f"overlaps spec.{other} {other_net}"))
    count = len(self.nodes)
    for pod_cidr in self.podCIDR:
        mask_field = "nodeCIDRMaskSize" if pod_cidr.version == 4 else "nodeCIDRMaskSizeIPv6"
        mask = self.node_mask(pod_cidr.version)
        if mask <= pod_cidr.prefixlen:
            problems.add(
                (mask_field,),
                invalid_value(mask, f"must be longer than the podCIDR's prefix /{pod_cidr.prefixlen}"),
            )
            continue
        # Subnet 0 stays unused, as flannel leaves it, so node i gets subnet i + 1.
        room = 2 ** min(mask - pod_cidr.prefixlen, 32) - 1
        if count > room:
            problems.add(
                ("podCIDR",),
                invalid_value(
                    str(pod_cidr),
                    f"has room for {room} node subnets of /{mask}, but the cluster has {count} nodes",
                ),
            )
    service_cidr = self.serviceCIDR[0]
    if self.clusterDNS.version != service_cidr.version or self.clusterDNS not in service_cidr or self.clusterDNS in (
        service_cidr.network_address,
        service_cidr.broadcast_address,
    ):
        problems.add(
            ("clusterDNS",),
            invalid_value(
                str(self.clusterDNS),
                f"must be a host address inside {'the primary ' if len(self.serviceCIDR) > 1 else ''}"
                f"spec.serviceCIDR {service_cidr}",
            ),
        )
    _check_lb_pool(self, problems)
    for underlay in self.underlayCIDR:
        last_usable = underlay_host(underlay, 0) + min(underlay.num_addresses - 2, 2**32)
        first_node = underlay_host(underlay, NODE_UNDERLAY_OFFSET)
        room = max(0, int(last_usable) - int(first_node) + 1)
        if count > room:
            problems.add(
                ("underlayCIDR",),
                invalid_value(
                    str(underlay),
                    f"has room for {room} nodes (node addresses start at {first_node}), "
                    f"but the cluster has {count} nodes",
                ),
            )

def _check_lb_pool(self: ClusterConfig, problems: ProblemList) -> None:
    for first, last in self.load_balancer_ranges:
        _check_lb_range(self, problems, first, last)

def _check_lb_range(self: ClusterConfig, problems: ProblemList, first: IPAddress, last: IPAddress) -> None:
    underlay = self.underlay_for(first.version)
    if underlay is None:
        problems.add(
            ("loadBalancerPool",),
            invalid_value(
                self.loadBalancerPool,
                f"holds {FAMILY_NAMES[first.version]} addresses, but spec.ipFamily {self.ipFamily} has no such family",
            ),
        )
        return
    usable = (underlay.network_address + 1, underlay.broadcast_address - 1)
    if not (usable[0] <= first and last <= usable[1]):
        problems.add(
            ("loadBalancerPool",),
            invalid_value(
                self.loadBalancerPool,
                f"must lie inside spec.underlayCIDR {underlay} (host addresses {usable[0]}-{usable[1]}), "
                "so the host reaches it through its veth into the lab",
            ),
        )
        return
    infrastructure = [underlay_host(underlay, HOST_UNDERLAY_OFFSET)]
    infrastructure += [underlay_host(underlay, NODE_UNDERLAY_OFFSET + i) for i in range(len(self.nodes))]
    clashes = [str(ip) for ip in infrastructure if first <= ip <= last]
    if clashes:
        problems.add(
            ("loadBalancerPool",),
            invalid_value(
                self.loadBalancerPool,
                f"includes the host's or a node's underlay address ({', '.join(clashes)})",
            ),
        )
