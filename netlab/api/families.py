"""IP families (pure, cheap to import): kind's ipFamily names, the default ranges per family,
and the small rules every room shares — which family an address is, how underlay host numbers
read in IPv6, the apiserver's family names.

Families are the ints 4 and 6; every per-family tuple in netlab lists the primary family first
(kind's `dual` is IPv4-primary).
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import Any

# IP families, kind's `networking.ipFamily` names. The primary family is the first of a pair.
IP_FAMILIES = {"ipv4": (4,), "ipv6": (6,), "dual": (4, 6)}
# kind's defaults per family (podSubnet, serviceSubnet); the underlay's IPv6 half mirrors the
# IPv4 one (fd00:172:31:255::/64) so a learner reads the same numbers in both.
DEFAULT_RANGES = {
    "podCIDR": {4: "10.244.0.0/16", 6: "fd00:10:244::/56"},
    "serviceCIDR": {4: "10.96.0.0/12", 6: "fd00:10:96::/112"},
    "underlayCIDR": {4: "172.31.255.0/24", 6: "fd00:172:31:255::/64"},
}
# kube-controller-manager's --node-cidr-mask-size-ipv4 / -ipv6 defaults.
DEFAULT_NODE_MASK = {4: 24, 6: 64}
FAMILY_NAMES = {4: "IPv4", 6: "IPv6"}
# The underlay is a flat /24-style LAN: the host is .1, node i is .(11 + i), like a rack where
# the low addresses belong to infrastructure.
HOST_UNDERLAY_OFFSET = 1
NODE_UNDERLAY_OFFSET = 11


def underlay_host(network: IPv4Network | IPv6Network, offset: int) -> IPv4Address | IPv6Address:
    """The underlay address at `offset`: .11 in IPv4, ::11 in IPv6 (the decimal digits read as
    hex, so node-a is 172.31.255.11 and fd00:172:31:255::11)."""
    if network.version == 6:
        return network.network_address + int(str(offset), 16)
    return network.network_address + offset


def family_of(value: Any) -> int:
    """4 or 6 for an address or network (object or string)."""
    if isinstance(value, str):
        return 6 if ":" in value else 4
    return value.version


def family_name(family: int) -> str:
    """4 -> "IPv4": the apiserver's ipFamilies value."""
    return FAMILY_NAMES[family]


__all__ = [
    "DEFAULT_NODE_MASK",
    "DEFAULT_RANGES",
    "FAMILY_NAMES",
    "HOST_UNDERLAY_OFFSET",
    "NODE_UNDERLAY_OFFSET",
    "IP_FAMILIES",
    "IPv4Address",
    "IPv6Address",
    "family_name",
    "family_of",
    "underlay_host",
]
