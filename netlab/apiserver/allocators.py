"""The apiserver's allocators (pure): Service cluster IPs and NodePorts.

Cluster IPs are picked at random from the service CIDR, like the apiserver's bitmap allocator.
NodePorts follow kube-apiserver's service-node-port-range allocator (KEP-3668, on by default
since 1.29): the range has a small "static" band at the bottom for ports users pick themselves;
automatic allocation takes a random free port from the upper band first and only falls back to
the static band when that is full, so a hand-picked `nodePort: 30080` rarely collides with an
allocated one. Load-balancer addresses are MetalLB's (`netlab/metallb/pool.py`), pod IPs the
CNI's (`netlab/kubelet/ipam.py`).
"""

from __future__ import annotations

import random
from collections.abc import Collection
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network


class Exhausted(Exception):
    pass


def allocate_cluster_ip(
    cidr: IPv4Network | IPv6Network,
    used: Collection[IPv4Address | IPv6Address],
    rng: random.Random | None = None,
) -> IPv4Address | IPv6Address:
    """A free Service IP of the range's family, picked at random like the apiserver's allocator.

    The first host address (10.96.0.1, fd00:10:96::1) is left for the `kubernetes` Service, as
    on real clusters.
    """
    rng = rng or random.Random()
    address = type(cidr.network_address)
    first = int(cidr.network_address) + 2
    last = int(cidr.broadcast_address) - (1 if cidr.version == 4 else 0)
    for _ in range(64):
        candidate = address(rng.randint(first, last))
        if candidate not in used:
            return candidate
    for value in range(first, min(last, first + (1 << 20)) + 1):
        if address(value) not in used:
            return address(value)
    raise Exhausted(f"no free Service IP left in {cidr}")


STATIC_BAND_MIN = 16


STATIC_BAND_MAX = 128


STATIC_BAND_STEP = 32


def static_band_size(port_range: range) -> int:
    """Upstream calculateRangeOffset: min(max(16, size/32), 128), never the whole range."""
    size = len(port_range)
    if size < STATIC_BAND_MIN:
        return 0
    return min(max(STATIC_BAND_MIN, size // STATIC_BAND_STEP), STATIC_BAND_MAX)


def allocate_node_port(port_range: range, used: Collection[int], rng: random.Random | None = None) -> int:
    rng = rng or random.Random()
    offset = static_band_size(port_range)
    upper = [p for p in port_range[offset:] if p not in used]
    if upper:
        return rng.choice(upper)
    lower = [p for p in port_range[:offset] if p not in used]
    if lower:
        return rng.choice(lower)
    raise Exhausted(f"no free NodePort left in {port_range.start}-{port_range.stop - 1}")
