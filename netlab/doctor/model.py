"""What `netlab doctor` works on: the `Facts` snapshot of the host, and the `Check`s judged from it.

`netlab.doctor.facts` fills a `Facts` from the kernel; the rules in `netlab.doctor.checks` and
`netlab.doctor.coexistence` read one and return `Check`s. Plain frozen data, no behaviour beyond
`Check.to_dict`, so tests can fabricate any machine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from ipaddress import IPv4Interface, IPv4Network, IPv6Interface, IPv6Network
from typing import Mapping


class Status(str, Enum):
    ok = "ok"
    warn = "warn"  # works, but something deserves attention
    fail = "fail"  # a lab cannot work until this is fixed
    skip = "skip"  # could not be checked (e.g. not root)


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    summary: str
    fix: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status.value, "summary": self.summary, "fix": self.fix}


@dataclass(frozen=True)
class HostRoute:
    dst: IPv4Network | IPv6Network
    dev: str | None
    proto: int
    type: str = "unicast"


@dataclass(frozen=True)
class HostLink:
    name: str
    kind: str  # "veth", "bridge", "tun", "wireguard", ... ("" for a plain device)
    alias: str = ""


@dataclass(frozen=True)
class LabRanges:
    """One lab's address ranges (an existing lab, or the default one `apply` would create)."""

    name: str
    ranges: Mapping[str, IPv4Network | IPv6Network]  # podCIDR, serviceCIDR, underlayCIDR (podCIDR[1], … of a second family)
    cluster_dns: str = ""


@dataclass(frozen=True)
class OwnedNetns:
    name: str
    cluster: str  # from the marker on its `lo`


@dataclass(frozen=True)
class PodResolv:
    """A running pod's /etc/resolv.conf, read through one of its processes (/proc/PID/root)."""

    cluster: str
    pod: str  # ns/name
    text: str


@dataclass(frozen=True)
class Facts:
    euid: int
    tools: Mapping[str, str | None]  # tool -> path, None when missing
    kernel: Mapping[str, str | None] | None  # feature -> None (works) or why not; None = not probed
    host_bridge_nf: bool  # /proc/sys/net/bridge exists on the host (br_netfilter loaded)
    iptables_version: str | None  # `iptables --version`
    host_rules: Mapping[str, int]  # backend ("legacy", "nf_tables") -> rules the host has in it
    ipvs_loaded: bool  # /proc/net/ip_vs
    bpf: bool  # the bpf() syscall is built in (/proc/sys/kernel/unprivileged_bpf_disabled)
    host_resolv: str  # the host's /etc/resolv.conf
    routes: tuple[HostRoute, ...]
    links: tuple[HostLink, ...]
    addresses: tuple[tuple[str, IPv4Interface | IPv6Interface], ...]  # (interface, address) on the host
    netns: tuple[OwnedNetns, ...]  # namespaces carrying netlab's marker
    uts_pins: tuple[str, ...]  # /run/netlab/uts entries
    labs: tuple[LabRanges, ...]  # labs with a state directory
    planned: LabRanges | None = None  # the default lab `netlab apply` would create, if it does not exist
    pod_resolv: tuple[PodResolv, ...] = field(default=())
    unreadable_labs: tuple[str, ...] = ()  # state directories whose config this netlab cannot read
    br_netfilter_by_setup: bool = False  # scripts/setup.sh loaded it this boot (it was not loaded before)
    nft_version: str | None = None  # `nft --version`, None when nft is missing
