"""`netlab doctor`: can a lab work on this machine, and if not, what to do about it (pure).

The facts are gathered elsewhere (`netlab.hostfacts`, read-only plus one probe in a throwaway
namespace); every function here only looks at a `Facts` and returns `Check`s, so each rule is
unit-tested with fabricated machines: a laptop on a VPN, a Docker host, a container without
br_netfilter, a host with the leftovers of a crashed lab.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from ipaddress import IPv4Interface, IPv4Network
from typing import Mapping

from netlab.errors import EXIT_ENVIRONMENT, EXIT_OK

RTPROT_NETLAB = 212  # netlab's host routes (`proto 212`), as in netlab.kernel.netlink
MARKER = "netlab"  # ownership alias prefix, as in netlab.naming


class Status(str, Enum):
    ok = "ok"
    warn = "warn"  # works, but something deserves attention
    fail = "fail"  # a lab cannot work until this is fixed
    skip = "skip"  # could not be checked (e.g. not root)


SYMBOLS = {Status.ok: "✓", Status.warn: "!", Status.fail: "✗", Status.skip: "-"}


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
    dst: IPv4Network
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
    ranges: Mapping[str, IPv4Network]  # podCIDR, serviceCIDR, underlayCIDR
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
    addresses: tuple[tuple[str, IPv4Interface], ...]  # (interface, address) on the host
    netns: tuple[OwnedNetns, ...]  # namespaces carrying netlab's marker
    uts_pins: tuple[str, ...]  # /run/netlab/uts entries
    labs: tuple[LabRanges, ...]  # labs with a state directory
    planned: LabRanges | None = None  # the default lab `netlab apply` would create, if it does not exist
    pod_resolv: tuple[PodResolv, ...] = field(default=())
    unreadable_labs: tuple[str, ...] = ()  # state directories whose config this netlab cannot read


# -- what is required ------------------------------------------------------------------------

# tool -> (Debian package, why netlab or the walkthroughs need it)
REQUIRED_TOOLS = {
    "iptables-restore": ("iptables", "kube-proxy's rules are loaded with it"),
    "iptables-save": ("iptables", "describe svc and the tutorials show rules with it"),
}
PROBE_TOOLS = {
    "ip": ("iproute2", "look at namespaces, links and routes"),
    "conntrack": ("conntrack", "see Service NAT entries"),
    "curl": ("curl", "call Services from pods"),
    "dig": ("bind9-dnsutils", "query cluster DNS"),
    "nc": ("netcat-openbsd", "TCP/UDP probes"),
    "tcpdump": ("tcpdump", "watch packets on veths and bridges"),
    "dot": ("graphviz", "draw topology graphs"),
}
ALL_TOOLS = tuple(REQUIRED_TOOLS) + tuple(PROBE_TOOLS)

# (feature, fails the lab?, what uses it, fix)
KERNEL_FEATURES = (
    ("netns", True, "every pod and node is a network namespace", "run as root on a kernel with CONFIG_NET_NS (any distribution kernel); in a container use --privileged"),
    ("veth", True, "each pod's eth0 is one end of a veth pair", "modprobe veth (on the host, if this is a container)"),
    ("bridge", True, "each node's cni0 and the fabric switch are bridges", "modprobe bridge (on the host, if this is a container)"),
    ("br_netfilter", True, "pod-to-pod traffic on a node's bridge must pass kube-proxy's iptables rules", "modprobe br_netfilter on the host; keep it: echo br_netfilter > /etc/modules-load.d/netlab.conf"),
    ("sysctl", True, "nodes need net.ipv4.ip_forward=1 inside their namespace", "/proc/sys is read-only: run on the host, in a VM, or with docker run --privileged / systemd-nspawn --private-network"),
    ("iptables", True, "Services are kube-proxy's nat rules (DNAT, statistic, MARK, MASQUERADE, conntrack)", "install iptables (scripts/setup.sh); in a container the host must have the netfilter modules (modprobe iptable_nat nf_nat or the nft ones)"),
    ("conntrack", True, "Service NAT and reply packets rely on connection tracking", "modprobe nf_conntrack (on the host, if this is a container)"),
    ("vxlan", False, "the overlay routing mode (flannel's vxlan backend); the default host-gw does not need it", "modprobe vxlan (on the host, if this is a container)"),
    ("wireguard", False, "nothing yet (encrypted overlays in some CNIs)", "modprobe wireguard, if you want to experiment with it"),
    ("netem", False, "nothing yet (emulated latency and loss between nodes)", "modprobe sch_netem (package linux-modules-extra on Ubuntu)"),
)

VPN_KINDS = {"tun", "tap", "wireguard", "ppp", "ipip", "gre", "ipsec", "xfrm"}
VPN_NAME = re.compile(r"^(tun|tap|wg|utun|ppp|tailscale|zt|nordlynx|proton|mullvad|cscotun|gpd|vpn)", re.I)
DOCKER_NAME = re.compile(r"^(docker\d+|br-[0-9a-f]{12})$")
LOOPBACK_RESOLVER = re.compile(r"^\s*nameserver\s+(127\.\S+|::1)\s*$", re.M)


def _nameservers(text: str) -> list[str]:
    return re.findall(r"^\s*nameserver\s+(\S+)", text, re.M)


# -- the checks ------------------------------------------------------------------------------


def check_root(facts: Facts) -> Check:
    if facts.euid == 0:
        return Check("root", Status.ok, "running as root")
    return Check(
        "root",
        Status.fail,
        "not root: netlab creates network namespaces, links and iptables rules (and doctor cannot probe the kernel)",
        "sudo netlab doctor",
    )


PERMISSION_FIX = (
    "the process lacks CAP_NET_ADMIN/CAP_SYS_ADMIN: run as root on the host or in a VM, or give the "
    "container every capability (docker run --privileged, systemd-nspawn --capability=all)"
)


def _permission_denied(reason: str) -> bool:
    return "(1," in reason or "not permitted" in reason.lower() or "permission denied" in reason.lower()


def _explain_kernel_error(reason: str) -> str:
    if "95" in reason or "not supported" in reason.lower():
        return "not supported by this kernel (module not loaded or not built)"
    if "(2," in reason or "No such file" in reason:
        return "not available in this kernel (module not loaded or not built)"
    if "Read-only" in reason or "(30," in reason:
        return "read-only /proc/sys"
    if _permission_denied(reason):
        return "operation not permitted (missing capabilities)"
    return reason


def check_kernel(facts: Facts) -> list[Check]:
    checks = []
    for feature, required, used_for, fix in KERNEL_FEATURES:
        name = f"kernel: {feature}"
        if facts.kernel is None:
            if feature == "br_netfilter":
                ok = facts.host_bridge_nf
                checks.append(
                    Check(name, Status.ok, "loaded (/proc/sys/net/bridge)")
                    if ok
                    else Check(name, Status.fail, f"br_netfilter is not loaded: {used_for}", fix)
                )
            else:
                checks.append(Check(name, Status.skip, "not probed (needs root)", "sudo netlab doctor"))
            continue
        netns_broken = facts.kernel.get("netns")
        reason = netns_broken if feature == "netns" else (facts.kernel.get(feature, "not probed") if not netns_broken else "no namespace to probe in")
        if reason is None:
            checks.append(Check(name, Status.ok, "works"))
        else:
            how = PERMISSION_FIX if _permission_denied(reason) else fix
            if required:
                checks.append(Check(name, Status.fail, f"{_explain_kernel_error(reason)}: {used_for}", how))
            else:
                checks.append(Check(name, Status.warn, f"{_explain_kernel_error(reason)}; optional, used by {used_for}", how))
    return checks


def check_bpf(facts: Facts) -> Check:
    if facts.bpf:
        return Check("kernel: bpf", Status.ok, "available (optional: netlab does not need it)")
    return Check("kernel: bpf", Status.warn, "bpf() is not built into this kernel; optional, netlab does not need it", "none needed")


def iptables_backend(version: str | None) -> str | None:
    """'nf_tables' or 'legacy' from `iptables --version` ("iptables v1.8.9 (nf_tables)")."""
    if not version:
        return None
    found = re.search(r"\((nf_tables|legacy)\)", version)
    # Before 1.8 there was only the legacy backend, and the version string did not say so.
    return found.group(1) if found else "legacy"


def check_iptables_backend(facts: Facts) -> Check:
    backend = iptables_backend(facts.iptables_version)
    if backend is None:
        return Check(
            "iptables backend", Status.fail, "iptables is not installed", "apt-get install iptables (scripts/setup.sh does)"
        )
    other = "legacy" if backend == "nf_tables" else "nf_tables"
    mine, theirs = facts.host_rules.get(backend, 0), facts.host_rules.get(other, 0)
    host_uses = backend if mine or not theirs else other
    summary = (
        f"netlab uses {backend}; the host's rules: {mine} in {backend}, {theirs} in {other} "
        "(netlab's rules live only in its node namespaces, so they never mix)"
    )
    if host_uses != backend:
        return Check(
            "iptables backend",
            Status.warn,
            summary + f"; but `iptables-save` on the host shows the {backend} view, not the host's {other} rules",
            f"to see the host's own rules use iptables-{'legacy' if other == 'legacy' else 'nft'}-save; "
            "inside a node use: ip netns exec <cluster>.<node> iptables-save",
        )
    return Check("iptables backend", Status.ok, summary)


def check_ipvs(facts: Facts) -> Check:
    if not facts.ipvs_loaded:
        return Check("ipvs", Status.ok, "absent (netlab is kube-proxy's iptables mode)")
    return Check(
        "ipvs",
        Status.warn,
        "the ip_vs module is loaded: a kube-proxy in IPVS mode (or another load balancer) may run on this host; "
        "its kube-ipvs0 addresses can clash with a lab's Service range (see 'ranges')",
        "nothing to do unless 'ranges' reports a clash; netlab itself never uses IPVS",
    )


def check_tools(facts: Facts) -> list[Check]:
    def missing(table: Mapping[str, tuple[str, str]]) -> list[str]:
        return [t for t in table if not facts.tools.get(t)]

    def install(tools: list[str], table: Mapping[str, tuple[str, str]]) -> str:
        packages = sorted({table[t][0] for t in tools})
        return f"apt-get install {' '.join(packages)} (scripts/setup.sh installs all but graphviz)"

    checks = []
    gone = missing(REQUIRED_TOOLS)
    if gone:
        why = "; ".join(f"{t}: {REQUIRED_TOOLS[t][1]}" for t in gone)
        checks.append(Check("tools: required", Status.fail, f"missing {', '.join(gone)} ({why})", install(gone, REQUIRED_TOOLS)))
    else:
        checks.append(Check("tools: required", Status.ok, ", ".join(REQUIRED_TOOLS)))
    gone = missing(PROBE_TOOLS)
    if gone:
        why = "; ".join(f"{t}: {PROBE_TOOLS[t][1]}" for t in gone)
        checks.append(Check("tools: probes", Status.warn, f"missing {', '.join(gone)} ({why})", install(gone, PROBE_TOOLS)))
    else:
        checks.append(Check("tools: probes", Status.ok, ", ".join(PROBE_TOOLS)))
    return checks


def _link_kinds(facts: Facts) -> dict[str, HostLink]:
    return {link.name: link for link in facts.links}


def _netlab_links(facts: Facts) -> set[str]:
    return {link.name for link in facts.links if link.alias.startswith(MARKER + ":")}


def is_vpn(link: HostLink) -> bool:
    return link.kind in VPN_KINDS or bool(VPN_NAME.match(link.name))


def is_docker(name: str) -> bool:
    return bool(DOCKER_NAME.match(name))


def _what(dev: str | None, links: Mapping[str, HostLink]) -> str:
    if dev is None:
        return "a host route"
    link = links.get(dev, HostLink(dev, ""))
    if is_vpn(link):
        return f"VPN interface {dev}"
    if is_docker(dev):
        return f"Docker network {dev}"
    return f"host interface {dev}"


def range_clashes(lab: LabRanges, facts: Facts) -> list[str]:
    """Every host route, host address or other lab that overlaps one of `lab`'s ranges."""
    links = _link_kinds(facts)
    ours = _netlab_links(facts)
    problems = []
    for field_name, net in lab.ranges.items():
        for route in facts.routes:
            if route.proto == RTPROT_NETLAB or route.dev in ours:
                continue  # a lab's own guard routes and host veths (compared lab by lab below)
            if net.overlaps(route.dst):
                problems.append(f"{field_name} {net} overlaps {route.dst} of {_what(route.dev, links)}")
        for dev, address in facts.addresses:
            if dev in ours or dev == "lo":
                continue
            if address.ip in net and not any(address.network == r.dst for r in facts.routes if r.dev == dev):
                problems.append(f"{field_name} {net} contains {address.ip}, an address of {_what(dev, links)}")
        for other in facts.labs:
            if other.name == lab.name:
                continue
            for other_field, other_net in other.ranges.items():
                if net.overlaps(other_net):
                    problems.append(f"{field_name} {net} overlaps {other_field} {other_net} of lab {other.name}")
    return problems


def check_ranges(facts: Facts) -> list[Check]:
    checks = []
    fix = (
        "pick ranges nothing else uses in a Cluster config (podCIDR, serviceCIDR, underlayCIDR) and "
        "create the lab with: netlab cluster create --config FILE; or disconnect the VPN / remove the Docker network"
    )
    for lab in facts.labs:
        problems = range_clashes(lab, facts)
        if problems:
            # Built before the clash appeared: traffic to those addresses now has two owners.
            checks.append(Check(f"ranges: {lab.name}", Status.warn, "; ".join(problems), fix.replace("create the lab", "re-create the lab")))
        else:
            checks.append(Check(f"ranges: {lab.name}", Status.ok, _describe_ranges(lab) + ": no clash"))
    for name in facts.unreadable_labs:
        checks.append(
            Check(
                f"ranges: {name}",
                Status.warn,
                "the lab's state cannot be read by this netlab (made by another version?): its ranges are unknown",
                f"use the netlab that made it, or remove it: netlab cluster delete --name {name}",
            )
        )
    if facts.planned is not None:
        problems = range_clashes(facts.planned, facts)
        name = f"ranges: {facts.planned.name} (not created yet)"
        if problems:
            checks.append(Check(name, Status.fail, "netlab apply would refuse to create it: " + "; ".join(problems), fix))
        else:
            checks.append(Check(name, Status.ok, _describe_ranges(facts.planned) + ": free"))
    return checks


def _describe_ranges(lab: LabRanges) -> str:
    return " ".join(str(v) for v in lab.ranges.values())


def check_neighbours(facts: Facts) -> list[Check]:
    """VPNs and Docker: present is fine, as long as 'ranges' finds no clash."""
    vpns = [link.name for link in facts.links if is_vpn(link)]
    docker = [link.name for link in facts.links if is_docker(link.name)]
    checks = []
    if vpns:
        checks.append(Check("VPN interfaces", Status.ok, f"{', '.join(vpns)}: present; clashes with lab ranges are reported under 'ranges'"))
    else:
        checks.append(Check("VPN interfaces", Status.ok, "none"))
    if docker:
        checks.append(
            Check(
                "Docker networks",
                Status.ok,
                f"{', '.join(docker)}: present; Docker's FORWARD DROP policy does not affect netlab "
                "(node traffic crosses the fabric namespace, never the host's bridge netfilter)",
            )
        )
    else:
        checks.append(Check("Docker networks", Status.ok, "none"))
    return checks


def check_resolver(facts: Facts) -> Check:
    host_stub = LOOPBACK_RESOLVER.findall(facts.host_resolv)
    host_desc = (
        f"the host resolves through the local stub {', '.join(host_stub)}" if host_stub
        else f"the host's nameservers are {', '.join(_nameservers(facts.host_resolv)) or 'none'}"
    )
    dns = {lab.name: lab.cluster_dns for lab in facts.labs}
    for seen in facts.pod_resolv:
        servers = _nameservers(seen.text)
        leaked = [s for s in servers if s.startswith("127.") or s == "::1" or s in _nameservers(facts.host_resolv)]
        expected = dns.get(seen.cluster, "")
        if leaked or (expected and servers != [expected]):
            return Check(
                "pod resolver",
                Status.fail,
                f"pod {seen.pod} of lab {seen.cluster} has nameserver(s) {', '.join(servers) or 'none'}, "
                f"expected only the cluster DNS {expected or '?'}: the host's resolver leaks into pods",
                "re-create the pod (netlab delete pod …; netlab apply …); if it persists, report a bug",
            )
    if facts.pod_resolv:
        seen = facts.pod_resolv[0]
        return Check(
            "pod resolver",
            Status.ok,
            f"{host_desc}; pods have their own resolv.conf (pod {seen.pod} of lab {seen.cluster}: "
            f"nameserver {', '.join(_nameservers(seen.text))}), so the host's resolver does not leak in",
        )
    return Check(
        "pod resolver",
        Status.ok,
        f"{host_desc}; no running pod to look at. netlab bind-mounts each pod's own resolv.conf "
        "(nameserver = the cluster DNS) over /etc/resolv.conf, so a 127.0.0.53 stub — which inside a pod "
        "would be the pod's own loopback — never reaches it. See it: netlab exec POD -- cat /etc/resolv.conf",
    )


def check_leftovers(facts: Facts) -> Check:
    labs = {lab.name for lab in facts.labs} | set(facts.unreadable_labs)
    lab_ranges = [net for lab in facts.labs for net in lab.ranges.values()]
    orphans: dict[str, list[str]] = {}
    for owned in facts.netns:
        if owned.cluster not in labs:
            orphans.setdefault(owned.cluster, []).append(f"netns {owned.name}")
    for link in facts.links:
        if link.alias.startswith(MARKER + ":"):
            cluster = link.alias.split(":", 2)[1]
            if cluster not in labs:
                orphans.setdefault(cluster, []).append(f"link {link.name}")
    for pin in facts.uts_pins:
        cluster = pin.split(".", 1)[0]
        if cluster not in labs:
            orphans.setdefault(cluster, []).append(f"UTS pin {pin}")
    # With a lab of unknown ranges, no netlab route can be called an orphan.
    routes = [] if facts.unreadable_labs else [r for r in facts.routes if r.proto == RTPROT_NETLAB and r.dst not in lab_ranges]
    if not orphans and not routes:
        return Check("leftovers", Status.ok, "none: every netlab namespace, link and route belongs to an existing lab")
    found = [f"lab {c} (no state directory): {_count(items)}" for c, items in sorted(orphans.items())]
    if routes:
        found.append(f"routes proto {RTPROT_NETLAB} of no lab: {', '.join(str(r.dst) for r in routes)}")
    fixes = [f"netlab cluster delete --name {c}" for c in sorted(orphans)]
    if routes:
        fixes.append(f"for each route: ip route del unreachable DST proto {RTPROT_NETLAB}")
    fixes.append("or remove every lab on this machine at once: netlab reset")
    return Check(
        "leftovers",
        Status.warn,
        "from a crashed lab (or one whose state lives under another NETLAB_STATE_DIR): " + "; ".join(found),
        "; ".join(fixes),
    )


def _count(items: list[str]) -> str:
    kinds: dict[str, int] = {}
    for item in items:
        kind = item.rsplit(" ", 1)[0]
        kinds[kind] = kinds.get(kind, 0) + 1
    return ", ".join(f"{n} {kind}{'s' if n > 1 and kind != 'netns' else ''}" for kind, n in kinds.items())


def run_checks(facts: Facts) -> list[Check]:
    return [
        check_root(facts),
        *check_kernel(facts),
        check_bpf(facts),
        check_iptables_backend(facts),
        check_ipvs(facts),
        *check_tools(facts),
        *check_ranges(facts),
        *check_neighbours(facts),
        check_resolver(facts),
        check_leftovers(facts),
    ]


def exit_code(checks: list[Check]) -> int:
    """4 (environment problem) when a lab cannot work here, else 0."""
    return EXIT_ENVIRONMENT if any(c.status == Status.fail for c in checks) else EXIT_OK
