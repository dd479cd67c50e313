"""IP address management (pure): pod IPs per node subnet, Service cluster IPs.

Pod IPs follow the CNI host-local plugin: allocation continues after the last address handed
out on that node and wraps around, so a re-created pod gets a *new* IP instead of its
predecessor's — the behaviour the seed articles teach ("pods come back with a new IP").
"""

from __future__ import annotations

import random
from ipaddress import IPv4Address, IPv4Network
from typing import Collection


class Exhausted(Exception):
    pass


def gateway(subnet: IPv4Network) -> IPv4Address:
    """The node bridge's address (cni0): the first host of the node's /24."""
    return subnet.network_address + 1


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


def allocate_cluster_ip(
    cidr: IPv4Network, used: Collection[IPv4Address], rng: random.Random | None = None
) -> IPv4Address:
    """A free Service IP, picked at random like the apiserver's allocator.

    The first host address (10.96.0.1) is left for the `kubernetes` Service, as on real clusters.
    """
    rng = rng or random.Random()
    first = int(cidr.network_address) + 2
    last = int(cidr.broadcast_address) - 1
    for _ in range(64):
        candidate = IPv4Address(rng.randint(first, last))
        if candidate not in used:
            return candidate
    for value in range(first, last + 1):
        if IPv4Address(value) not in used:
            return IPv4Address(value)
    raise Exhausted(f"no free Service IP left in {cidr}")
