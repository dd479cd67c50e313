"""Unsolicited neighbour advertisements from inside a node namespace: IPv6's gratuitous ARP, as
MetalLB's speaker sends when it takes an address (its ndp responder's `gratuitous`).

Without it, the host keeps the previous owner's MAC for the address in its neighbour cache
until the entry goes stale; with it the entry switches at once (RFC 4861 §7.2.6: an
advertisement with the Override flag replaces a cached link-layer address). The frame is the
one Linux itself sends for a new address when `ndisc_notify` is on — byte for byte, as the unit
test checks against a capture: to all-nodes ff02::1 from the address itself, hop limit 255,
flags Override only (not Solicited: nobody asked; not Router: MetalLB leaves it clear), with
the node's MAC as the target link-layer address option. It only ever leaves through the node's
own eth0, into the lab's underlay switch.
"""

from __future__ import annotations

import socket
import struct
from ipaddress import IPv6Address

from netlab.kernel import ns

ETH_P_IPV6 = 0x86DD
ALL_NODES = IPv6Address("ff02::1")
ALL_NODES_MAC = bytes.fromhex("333300000001")  # 33:33 + the low 32 bits of ff02::1 (RFC 2464 §7)
ICMPV6 = 58
NEIGHBOR_ADVERTISEMENT = 136
FLAG_OVERRIDE = 0x20000000
OPTION_TARGET_LINK_LAYER = 2
HOP_LIMIT = 255  # receivers drop neighbour discovery that crossed a router (RFC 4861 §7.1.2)


def checksum(src: IPv6Address, dst: IPv6Address, message: bytes) -> int:
    """The ICMPv6 checksum (RFC 4443 §2.3): one's complement sum over the IPv6 pseudo-header
    (source, destination, upper-layer length, next header) and the message."""
    data = src.packed + dst.packed + struct.pack("!I3xB", len(message), ICMPV6) + message
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def frame(mac: str, ip: IPv6Address) -> bytes:
    """The Ethernet frame of an unsolicited neighbour advertisement of `ip` at `mac` (pure)."""
    own = bytes.fromhex(mac.replace(":", ""))
    option = struct.pack("!BB", OPTION_TARGET_LINK_LAYER, 1) + own  # length in units of 8 bytes
    body = struct.pack("!I", FLAG_OVERRIDE) + ip.packed + option
    unsummed = struct.pack("!BBH", NEIGHBOR_ADVERTISEMENT, 0, 0) + body
    icmp = struct.pack("!BBH", NEIGHBOR_ADVERTISEMENT, 0, checksum(ip, ALL_NODES, unsummed)) + body
    ipv6 = struct.pack("!IHBB", 6 << 28, len(icmp), ICMPV6, HOP_LIMIT) + ip.packed + ALL_NODES.packed
    return ALL_NODES_MAC + own + struct.pack("!H", ETH_P_IPV6) + ipv6 + icmp


def announce(netns_path: str, interface: str, mac: str, ip: IPv6Address) -> None:
    with ns.entered(netns_path), socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IPV6)) as sock:
        sock.bind((interface, 0))
        sock.send(frame(mac, ip))
