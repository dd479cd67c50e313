"""Pod IPs, as the CNI host-local IPAM plugin hands them out (pure).

Allocation continues after the last address handed out on that node and wraps around, so a
re-created pod gets a *new* IP instead of its predecessor's — the behaviour the seed articles
teach ("pods come back with a new IP").
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network
from typing import Collection

from netlab.apiserver.allocators import Exhausted


def allocate_pod_ip(
    subnet: IPv4Network, used: Collection[IPv4Address], last: IPv4Address | None
) -> IPv4Address:
    first = int(subnet.network_address) + 2  # .0 network, .1 gateway
    end = int(subnet.broadcast_address) - 1
    size = end - first + 1
    start = int(last) + 1 if last is not None and first <= int(last) <= end else first
    for i in range(size):
        candidate = IPv4Address(first + (start - first + i) % size)
        if candidate not in used:
            return candidate
    raise Exhausted(f"no free pod IP left in {subnet}")
