"""The field types of netlab's Cluster config (cluster.py): IPv4 CIDRs, addresses, nodes.

CIDR and Address take a string and report a bad one the way the apiserver does (`Invalid
value: ...`, with a suggestion for a CIDR with host bits set); `parse_address_range` reads a
load-balancer pool in MetalLB's IPAddressPool syntax. ClusterNode is one entry of `spec.nodes`:
a DNS-1123 name that is not reserved, and labels.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, field_validator

from netlab.api.field import field_error, invalid_value
from netlab.api.meta import DNS1123Label, Labels

RESERVED_NODE_NAMES = frozenset({"fabric"})  # the underlay switch's namespace


def _network(value: Any) -> Any:
    if isinstance(value, IPv4Network):
        return value
    if not isinstance(value, str):  # pydantic would read a number as an address
        raise field_error(invalid_value(value, "must be a string such as 10.244.0.0/16"))
    try:
        return IPv4Network(value, strict=True)
    except ValueError as exc:
        if "has host bits set" in str(exc):
            suggestion = IPv4Network(value, strict=False)
            detail = f"has host bits set; did you mean {suggestion}?"
        else:
            detail = "must be an IPv4 CIDR such as 10.244.0.0/16"
        raise field_error(invalid_value(value, detail)) from None


def _address(value: Any) -> Any:
    if isinstance(value, IPv4Address):
        return value
    if not isinstance(value, str):
        raise field_error(invalid_value(value, "must be a string such as 10.96.0.10"))
    try:
        return IPv4Address(value)
    except ValueError:
        detail = "must be an IPv4 address such as 10.96.0.10"
        raise field_error(invalid_value(value, detail)) from None


def parse_address_range(value: str) -> tuple[IPv4Address, IPv4Address]:
    """`first-last` or a CIDR (MetalLB's IPAddressPool syntax) as (first, last); ValueError if bad."""
    if "/" in value:
        network = IPv4Network(value, strict=True)
        return network.network_address, network.broadcast_address
    first, dash, last = value.partition("-")
    if not dash:
        raise ValueError("not a range")
    start, end = IPv4Address(first.strip()), IPv4Address(last.strip())
    if start > end:
        raise ValueError("the first address is after the last")
    return start, end


def _address_range(value: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, str):
        raise field_error(invalid_value(value, "must be a string such as 172.31.255.200-172.31.255.250"))
    try:
        parse_address_range(value)
    except ValueError:
        detail = "must be an address range such as 172.31.255.200-172.31.255.250, or a CIDR"
        raise field_error(invalid_value(value, detail)) from None
    return value


CIDR = Annotated[IPv4Network, BeforeValidator(_network)]
Address = Annotated[IPv4Address, BeforeValidator(_address)]


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
