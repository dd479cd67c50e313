"""Gratuitous ARP from inside a node namespace, as MetalLB's speaker sends when it takes an address.

Without it, the host (and the other nodes) keep the previous owner's MAC for the address in
their neighbour cache until the entry times out; with it they switch at once. The frame is an
ARP reply broadcast on the node's uplink: sender = target = the address, sender and target
MAC = the node's. It only ever leaves through the node's own eth0, into the lab's underlay switch.
"""

from __future__ import annotations

import socket
import struct
from ipaddress import IPv4Address

from netlab.kernel import ns

ETH_P_ARP = 0x0806
BROADCAST = b"\xff" * 6


def frame(mac: str, ip: IPv4Address) -> bytes:
    """The Ethernet frame of a gratuitous ARP reply (pure, for tests)."""
    own = bytes.fromhex(mac.replace(":", ""))
    addr = ip.packed
    ethernet = BROADCAST + own + struct.pack("!H", ETH_P_ARP)
    # htype Ethernet, ptype IPv4, hlen 6, plen 4, op 2 (reply). Linux only treats a reply as
    # gratuitous — and lets it override a neighbour entry younger than `locktime` — when its
    # target hardware address equals the sender's (arp_is_garp), so both are the node's MAC.
    arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 2) + own + addr + own + addr
    return ethernet + arp


def announce(netns_path: str, interface: str, mac: str, ip: IPv4Address) -> None:
    with ns.entered(netns_path), socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP)) as sock:
        sock.bind((interface, 0))
        sock.send(frame(mac, ip))
