"""Pod IPs, as the CNI host-local IPAM plugin hands them out (pure).

Allocation continues after the last address handed out on that node and wraps around, so a
re-created pod gets a *new* IP instead of its predecessor's — the behaviour the seed articles
teach ("pods come back with a new IP"). In a dual-stack lab the pod gets one address per
family (host-local with one range per family); netlab picks the same host number in the
second family when it is free (10.244.1.5 and fd00:10:244:1::5), so the pair reads as one.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

from netlab.apiserver.allocators import Exhausted

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network


def allocate_pod_ip(subnet: IPNetwork, used: Collection[IPAddress], last: IPAddress | None) -> IPAddress:
    first = int(subnet.network_address) + 2  # .0 network, .1 gateway
    end = int(subnet.broadcast_address) - 1
    size = end - first + 1
    start = int(last) + 1 if last is not None and last.version == subnet.version and first <= int(last) <= end else first
    address = type(subnet.network_address)
    for i in range(min(size, 1 << 20)):  # a /64 is never walked to its end
        candidate = address(first + (start - first + i) % size)
        if candidate not in used:
            return candidate
    raise Exhausted(f"no free pod IP left in {subnet}")


def allocate_pod_ips(
    subnets: Sequence[IPNetwork], used: Collection[IPAddress], last: IPAddress | None
) -> tuple[IPAddress, ...]:
    """One address per subnet (primary family first); `last` is the primary family's cursor."""
    primary = allocate_pod_ip(subnets[0], used, last)
    ips = [primary]
    offset = int(primary) - int(subnets[0].network_address)
    for subnet in subnets[1:]:
        same = subnet.network_address + offset
        ips.append(same if same in subnet and same not in used else allocate_pod_ip(subnet, used, None))
    return tuple(ips)
