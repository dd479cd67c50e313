"""Listening sockets from `/proc/net/tcp[6]` and `/proc/net/udp[6]` text (pure).

The kernel lists a namespace's sockets there (what `ss -ltn` reads): local address and port in
hex, the TCP state (0A = LISTEN) and the socket's inode, which `/proc/PID/fd/*` links to as
`socket:[INODE]` — that is how a port is mapped to the process that owns it. A socket bound to
`[::]` (the tcp6 file) takes IPv4 connections too, unless it is IPV6_V6ONLY (the built-in
servers are not), so it counts as a wildcard for both families.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

TCP_LISTEN = "0A"
UDP_UNCONNECTED = "07"


@dataclass(frozen=True)
class Bound:
    address: str
    port: int
    state: str
    inode: int


def parse_proc_net(text: str) -> list[Bound]:
    rows = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10:
            continue
        host, _, port = fields[1].partition(":")
        if len(host) == 32:  # tcp6/udp6: four 32-bit words, each in host byte order
            words = b"".join(struct.pack("<I", int(host[i : i + 8], 16)) for i in range(0, 32, 8))
            address = socket.inet_ntop(socket.AF_INET6, words)
        else:
            address = socket.inet_ntoa(struct.pack("<I", int(host, 16)))
        rows.append(Bound(address, int(port, 16), fields[3], int(fields[9])))
    return rows


def listening(rows: list[Bound], protocol: str, port: int, ip: str | None = None) -> list[Bound]:
    """Sockets that would accept a new connection to `ip:port` (wildcard or that address)."""
    state = TCP_LISTEN if protocol == "tcp" else UDP_UNCONNECTED
    return [
        r for r in rows
        if r.port == port and r.state == state and (ip is None or r.address in ("0.0.0.0", "::", ip))
    ]  # fmt: skip
