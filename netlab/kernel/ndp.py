"""Unsolicited neighbour advertisement from inside a node namespace: IPv6's gratuitous ARP, as
MetalLB's speaker sends when it takes an IPv6 address (RFC 4861 §7.2.6).

Without it, the host and the other nodes keep the previous owner's MAC for the address in their
neighbour cache until it goes stale; with it they switch at once. It is an ICMPv6 Neighbor
Advertisement to all-nodes (ff02::1) with the Override flag and the node's MAC as the target
link-layer address, hop limit 255 (receivers drop anything else), sent from the announced
address itself on the node's uplink: it only ever leaves through the node's own eth0, into the
lab's underlay switch. The kernel fills in the ICMPv6 checksum of a raw ICMPv6 socket.
"""

from __future__ import annotations

import socket
import struct
from ipaddress import IPv6Address

from netlab.kernel import ns

ND_NEIGHBOR_ADVERT = 136
OVERRIDE = 0x20000000
TARGET_LINK_LAYER_ADDRESS = 2
ALL_NODES = "ff02::1"


def advertisement(mac: str, ip: IPv6Address) -> bytes:
    """The ICMPv6 message (checksum left 0 for the kernel) (pure, for tests)."""
    own = bytes.fromhex(mac.replace(":", ""))
    header = struct.pack("!BBHI", ND_NEIGHBOR_ADVERT, 0, 0, OVERRIDE) + ip.packed
    return header + struct.pack("!BB", TARGET_LINK_LAYER_ADDRESS, 1) + own


def announce(netns_path: str, interface: str, mac: str, ip: IPv6Address) -> None:
    with ns.entered(netns_path):
        # The socket and the interface index belong to the namespace the thread is in.
        sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
        index = socket.if_nametoindex(interface)
    with sock:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, index)
        sock.bind((str(ip), 0, 0, index))
        sock.sendto(advertisement(mac, ip), (ALL_NODES, 0, 0, index))
