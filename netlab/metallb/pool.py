"""Load-balancer addresses on bare metal, as MetalLB does it in L2 mode (pure).

The controller gives a LoadBalancer Service the lowest free address of the pool (or the
`loadBalancerIP` it asks for); the speakers elect, per address, the one node that answers
ARP for it. MetalLB's election (layer2_controller.go ShouldAnnounce) sorts the candidate
nodes by sha256(node + "#" + ip) and takes the first, so every address has a stable owner,
different addresses spread over the nodes, and when the owner goes away only its addresses
move. Candidates are the healthy nodes; with `externalTrafficPolicy: Local` only those with a
ready endpoint of the Service, because the other nodes would drop the traffic.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address
from typing import Collection, Iterable, Sequence


IPAddress = IPv4Address | IPv6Address


@dataclass(frozen=True)
class Announcement:
    """An address that must be answered for on the underlay, and who may answer it."""

    ip: str
    candidates: tuple[str, ...]  # node names


def allocate_lb_ip(pool: tuple[IPAddress, IPAddress], used: Collection[IPAddress]) -> IPAddress | None:
    """The lowest free address of the pool (MetalLB's allocator order), None when it is full."""
    first, last = pool
    for value in range(int(first), int(last) + 1):
        if type(first)(value) not in used:
            return type(first)(value)
    return None


def elect(ip: str, nodes: Iterable[str]) -> str | None:
    """The node that announces `ip`, or None when no node may."""
    ranked = sorted(nodes, key=lambda node: hashlib.sha256(f"{node}#{ip}".encode()).digest())
    return ranked[0] if ranked else None


def assign(announcements: Sequence[Announcement], healthy: Collection[str]) -> dict[str, str]:
    """ip -> announcing node. An address wanted by several Services (externalIPs may be shared)
    goes to one node, chosen among the candidates they have in common, else among all of theirs."""
    by_ip: dict[str, list[tuple[str, ...]]] = {}
    for a in announcements:
        by_ip.setdefault(a.ip, []).append(a.candidates)
    result = {}
    for ip, candidate_sets in sorted(by_ip.items()):
        common = set.intersection(*(set(c) for c in candidate_sets)) & set(healthy)
        pool = common or (set().union(*candidate_sets) & set(healthy))
        owner = elect(ip, pool)
        if owner is not None:
            result[ip] = owner
    return result
