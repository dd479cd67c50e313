"""The node side of MetalLB's L2 mode: the addresses a node answers ARP for on the underlay.

An announced address (a LoadBalancer IP or an external IP) is a /32 on the node's uplink
`eth0`, so the node's kernel answers ARP for it and accepts the traffic; kube-proxy's rules
then DNAT it like any external destination. Every other /32 inside the underlay on that
uplink is a previous announcement and is removed: the node's namespace is netlab's, so is
everything on it. A new announcement is followed by a gratuitous ARP, as MetalLB's speaker
sends, so the host switches to the new owner's MAC at once after a takeover.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

from netlab import naming
from netlab.kernel import arp
from netlab.kernel.netlink import Netlink


@dataclass(frozen=True)
class AddressChange:
    added: tuple[IPv4Address, ...]
    removed: tuple[IPv4Address, ...]


def announced(nl: Netlink, node_ip: IPv4Address, underlay: IPv4Network) -> set[IPv4Address]:
    return {
        a.ip
        for a in nl.addresses(naming.NODE_UPLINK)
        if a.network.prefixlen == 32 and a.ip in underlay and a.ip != node_ip
    }


def sync(netns_path: str, node_ip: IPv4Address, underlay: IPv4Network, wanted: set[IPv4Address]) -> AddressChange:
    """Make the node's uplink carry exactly `wanted` (as /32s) besides its own address."""
    with Netlink(netns_path) as nl:
        current = announced(nl, node_ip, underlay)
        added = sorted(wanted - current)
        removed = sorted(current - wanted)
        for ip in removed:
            nl.delete_address(naming.NODE_UPLINK, IPv4Interface(f"{ip}/32"))
        for ip in added:
            nl.ensure_address(naming.NODE_UPLINK, IPv4Interface(f"{ip}/32"))
        mac = nl.mac(naming.NODE_UPLINK) if added else ""
    for ip in added:
        arp.announce(netns_path, naming.NODE_UPLINK, mac, ip)
    return AddressChange(tuple(added), tuple(removed))
