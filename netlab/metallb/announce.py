"""The node side of MetalLB's L2 mode: the addresses a node answers ARP for on the underlay.

An announced address (a LoadBalancer IP or an external IP) is a /32 on the node's uplink
`eth0`, so the node's kernel answers ARP for it and accepts the traffic; kube-proxy's rules
then DNAT it like any external destination. Every other /32 inside the underlay on that
uplink is a previous announcement and is removed: the node's namespace is netlab's, so is
everything on it. A new announcement is followed by a gratuitous ARP, as MetalLB's speaker
sends, so the host switches to the new owner's MAC at once after a takeover.

IPv6 the same way, per family: a /128 (no duplicate detection, usable at once) that the node
answers neighbour solicitations for, and an unsolicited neighbour advertisement for the takeover.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_interface

from netlab import naming
from netlab.kernel import arp, ndp
from netlab.kernel.netlink import Netlink

Address = IPv4Address | IPv6Address


@dataclass(frozen=True)
class AddressChange:
    added: tuple[Address, ...]
    removed: tuple[Address, ...]


def announced(nl: Netlink, node_ip: Address, underlay: IPv4Network | IPv6Network) -> set[Address]:
    """The host routes (/32, /128) of the underlay's family on the uplink, but the node's own."""
    return {
        a.ip
        for a in nl.addresses(naming.NODE_UPLINK)
        if a.ip.version == underlay.version and a.network.prefixlen == a.ip.max_prefixlen
        and a.ip in underlay and a.ip != node_ip
    }  # fmt: skip


def sync(netns_path: str, node_ip: Address, underlay: IPv4Network | IPv6Network, wanted: set[Address]) -> AddressChange:
    """Make the node's uplink carry exactly `wanted` (as /32s or /128s, one family: the
    underlay's) besides its own address."""
    with Netlink(netns_path) as nl:
        current = announced(nl, node_ip, underlay)
        added = sorted(wanted - current)
        removed = sorted(current - wanted)
        for ip in removed:
            nl.delete_address(naming.NODE_UPLINK, ip_interface(f"{ip}/{ip.max_prefixlen}"))
        for ip in added:
            nl.ensure_service_address(naming.NODE_UPLINK, ip_interface(f"{ip}/{ip.max_prefixlen}"))
        mac = nl.mac(naming.NODE_UPLINK) if added else ""
    for ip in added:
        (ndp if ip.version == 6 else arp).announce(netns_path, naming.NODE_UPLINK, mac, ip)
    return AddressChange(tuple(added), tuple(removed))
