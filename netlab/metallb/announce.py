"""The node side of MetalLB's L2 mode: the addresses a node answers ARP (IPv6: neighbour
solicitations) for on the underlay.

An announced address (a LoadBalancer IP or an external IP) is a /32 (IPv6: a /128, without
duplicate address detection) on the node's uplink `eth0`, so the node's kernel answers ARP and
neighbour solicitations for it and accepts the traffic; kube-proxy's rules then DNAT it like any
external destination. Every other host address inside the underlay on that uplink is a
previous announcement and is removed: the node's namespace is netlab's, so is everything on
it. A new announcement is followed by a gratuitous ARP (IPv6: an unsolicited neighbour
advertisement), as MetalLB's speaker sends, so the host switches to the new owner's MAC at
once after a takeover.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import ip_interface

from netlab import naming
from netlab.api.addressing import IPAddress, IPNetwork
from netlab.kernel import arp, ndp
from netlab.kernel.netlink import Netlink


@dataclass(frozen=True)
class AddressChange:
    added: tuple[IPAddress, ...]
    removed: tuple[IPAddress, ...]


def announced(nl: Netlink, node_ips: tuple[IPAddress, ...], underlays: tuple[IPNetwork, ...]) -> set[IPAddress]:
    return {
        a.ip
        for a in nl.addresses(naming.NODE_UPLINK, family=None)
        if a.network.prefixlen == a.max_prefixlen and a.ip not in node_ips and any(a.ip in u for u in underlays if u.version == a.version)
    }


def sync(netns_path: str, node_ips: tuple[IPAddress, ...], underlays: tuple[IPNetwork, ...], wanted: set[IPAddress]) -> AddressChange:
    """Make the node's uplink carry exactly `wanted` (as host addresses) besides its own."""
    with Netlink(netns_path) as nl:
        current = announced(nl, node_ips, underlays)
        added = sorted(wanted - current, key=_order)
        removed = sorted(current - wanted, key=_order)
        for ip in removed:
            nl.delete_address(naming.NODE_UPLINK, ip_interface(f"{ip}/{ip.max_prefixlen}"))
        for ip in added:
            nl.ensure_address(naming.NODE_UPLINK, ip_interface(f"{ip}/{ip.max_prefixlen}"))
        mac = nl.mac(naming.NODE_UPLINK) if added else ""
    for ip in added:
        (ndp if ip.version == 6 else arp).announce(netns_path, naming.NODE_UPLINK, mac, ip)
    return AddressChange(tuple(added), tuple(removed))


def _order(ip: IPAddress) -> tuple[int, int]:
    return ip.version, int(ip)
