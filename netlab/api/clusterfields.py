"""The field types of netlab's Cluster config (cluster.py): CIDRs, addresses, nodes.

CIDR and Address take a string of either family and report a bad one the way the apiserver does
(`Invalid value: ...`, with a suggestion for a CIDR with host bits set); CIDRs takes one CIDR or
an `IPv4,IPv6` pair as kind's podSubnet/serviceSubnet do; `parse_address_range` reads a
load-balancer pool in MetalLB's IPAddressPool syntax. ClusterNode is one entry of `spec.nodes`:
a DNS-1123 name that is not reserved, and labels.
"""

from __future__ import annotations

from ipaddress import (
    IPv4Address,
    IPv4Network,
    IPv6Address,
    IPv6Network,
    ip_address,
    ip_network,
)
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, field_validator

from netlab.api.field import field_error, invalid_value
from netlab.api.meta import DNS1123Label, Labels

RESERVED_NODE_NAMES = frozenset({"fabric"})  # the underlay switch's namespace


IPNetwork = IPv4Network | IPv6Network
IPAddress = IPv4Address | IPv6Address


def parse_network(value: str) -> IPNetwork:
    """One CIDR of either family; InvalidValue-style field error if bad."""
    try:
        return ip_network(value.strip(), strict=True)
    except ValueError as exc:
        if "has host bits set" in str(exc):
            suggestion = ip_network(value.strip(), strict=False)
            detail = f"has host bits set; did you mean {suggestion}?"
        else:
            detail = "must be a CIDR such as 10.244.0.0/16 or fd00:10:244::/56"
        raise field_error(invalid_value(value, detail)) from None


def _network(value: Any) -> Any:
    if isinstance(value, (IPv4Network, IPv6Network)):
        return value
    if not isinstance(value, str):  # pydantic would read a number as an address
        raise field_error(invalid_value(value, "must be a string such as 10.244.0.0/16"))
    return parse_network(value)


def _networks(value: Any) -> Any:
    """One CIDR, or a dual-stack pair `IPv4,IPv6` (either order: the first is the primary)."""
    if isinstance(value, (IPv4Network, IPv6Network)):
        return (value,)
    if isinstance(value, (tuple, list)) and all(isinstance(v, (IPv4Network, IPv6Network)) for v in value):
        return tuple(value)
    if not isinstance(value, str):
        raise field_error(invalid_value(value, "must be a string such as 10.244.0.0/16 or 10.244.0.0/16,fd00:10:244::/56"))
    parts = [p for p in value.split(",")]
    if len(parts) > 2:
        raise field_error(invalid_value(value, "may hold at most two CIDRs, one per IP family"))
    networks = tuple(parse_network(p) for p in parts)
    if len(networks) == 2 and networks[0].version == networks[1].version:
        raise field_error(invalid_value(value, "must hold one CIDR of each IP family (IPv4 and IPv6)"))
    return networks


def _address(value: Any) -> Any:
    if isinstance(value, (IPv4Address, IPv6Address)):
        return value
    if not isinstance(value, str):
        raise field_error(invalid_value(value, "must be a string such as 10.96.0.10"))
    try:
        return ip_address(value)
    except ValueError:
        detail = "must be an IP address such as 10.96.0.10 or fd00:10:96::a"
        raise field_error(invalid_value(value, detail)) from None


def parse_address_range(value: str) -> tuple[IPAddress, IPAddress]:
    """`first-last` or a CIDR (MetalLB's IPAddressPool syntax) as (first, last); ValueError if bad."""
    if "/" in value:
        network = ip_network(value.strip(), strict=True)
        return network.network_address, network.broadcast_address
    first, dash, last = value.partition("-")
    if not dash:
        raise ValueError("not a range")
    start, end = ip_address(first.strip()), ip_address(last.strip())
    if start.version != end.version:
        raise ValueError("the two ends are of different IP families")
    if start > end:
        raise ValueError("the first address is after the last")
    return start, end


def parse_address_ranges(value: str) -> tuple[tuple[IPAddress, IPAddress], ...]:
    """A pool: one range, or comma-separated ranges (MetalLB's addresses list), e.g. one per family."""
    return tuple(parse_address_range(part) for part in value.split(","))


def _address_range(value: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, str):
        raise field_error(invalid_value(value, "must be a string such as 172.31.255.200-172.31.255.250"))
    try:
        parse_address_ranges(value)
    except ValueError:
        detail = "must be an address range such as 172.31.255.200-172.31.255.250, or a CIDR (one per IP family, comma-separated)"
        raise field_error(invalid_value(value, detail)) from None
    return value


CIDR = Annotated[IPNetwork, BeforeValidator(_network)]
CIDRs = Annotated[tuple[IPNetwork, ...], BeforeValidator(_networks)]
Address = Annotated[IPAddress, BeforeValidator(_address)]


class ClusterNode(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: DNS1123Label
    labels: Labels = {}

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value in RESERVED_NODE_NAMES:
            detail = "is reserved for the underlay switch's namespace"
            raise field_error(invalid_value(value, detail))
        return value
