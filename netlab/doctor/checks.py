"""`netlab doctor`: can a lab work on this machine, and if not, what to do about it (pure).

The facts are gathered elsewhere (`netlab.doctor.facts`, read-only plus one probe in a throwaway
namespace); every function here only looks at a `Facts` and returns `Check`s, so each rule is
unit-tested with fabricated machines: a laptop on a VPN, a Docker host, a container without
br_netfilter, a host with the leftovers of a crashed lab.

This module holds what the machine itself must offer (root, kernel features, iptables, tools),
the full list of checks (`run_checks`) and the verdict (`exit_code`, `SYMBOLS`). How a lab gets
along with what else lives on the host (address ranges, VPNs and Docker, the resolver,
leftovers of crashed labs) is in `netlab.doctor.coexistence`.
"""

from __future__ import annotations

import re
from typing import Mapping

from netlab.doctor.coexistence import check_leftovers, check_neighbours, check_ranges, check_resolver
from netlab.doctor.model import Check, Facts, Status
from netlab.errors import EXIT_ENVIRONMENT, EXIT_OK

SYMBOLS = {Status.ok: "✓", Status.warn: "!", Status.fail: "✗", Status.skip: "-"}


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
# Only `routing: bgp` needs them: Calico-style BGP with a real BIRD in every node.
BGP_TOOLS = {
    "bird": ("bird2", "routing: bgp runs BIRD 2 in every node"),
    "birdc": ("bird2", "describe node asks BIRD for its sessions and routes"),
}
ALL_TOOLS = tuple(REQUIRED_TOOLS) + tuple(PROBE_TOOLS) + tuple(BGP_TOOLS)

# (feature, fails the lab?, what uses it, fix)
KERNEL_FEATURES = (
    ("netns", True, "every pod and node is a network namespace", "run as root on a kernel with CONFIG_NET_NS (any distribution kernel); in a container use --privileged"),
    ("veth", True, "each pod's eth0 is one end of a veth pair", "modprobe veth (on the host, if this is a container)"),
    ("bridge", True, "each node's cni0 and the fabric switch are bridges", "modprobe bridge (on the host, if this is a container)"),
    ("br_netfilter", True, "pod-to-pod traffic on a node's bridge must pass kube-proxy's iptables rules", "modprobe br_netfilter on the host; keep it: echo br_netfilter > /etc/modules-load.d/netlab.conf"),
    ("sysctl", True, "nodes need net.ipv4.ip_forward=1 inside their namespace", "/proc/sys is read-only: run on the host, in a VM, or with docker run --privileged / systemd-nspawn --private-network"),
    ("iptables", True, "Services are kube-proxy's nat rules (DNAT, statistic, MARK, MASQUERADE, conntrack)", "install iptables (scripts/setup.sh); in a container the host must have the netfilter modules (modprobe iptable_nat nf_nat or the nft ones)"),
    ("conntrack", True, "Service NAT and reply packets rely on connection tracking", "modprobe nf_conntrack (on the host, if this is a container)"),
    ("nf_tables", False, "kube-proxy's nftables mode (--kube-proxy-mode nftables: verdict maps, numgen, timed sets); the default iptables mode does not need it", "apt-get install nftables (scripts/setup.sh); in a container the host needs the nf_tables modules (modprobe nf_tables nft_numgen nft_nat)"),
    ("vxlan", False, "routing: vxlan (flannel's vxlan backend, flannel.1 on udp/8472); host-gw and bgp do not need it", "modprobe vxlan (on the host, if this is a container)"),
    ("ipv6", False, "dual-stack and IPv6-only labs (--ip-family dual|ipv6): every node and pod namespace needs IPv6 on; IPv4 labs do not", "if /proc/sys/net/ipv6 is missing, remove ipv6.disable=1 from the kernel command line (GRUB_CMDLINE_LINUX) and reboot; if new namespaces start with disable_ipv6 = 1, the host passes its own setting on (net.core.devconf_inherit_init_net): set net.ipv6.conf.default.disable_ipv6=0 on the host yourself — netlab never changes a host sysctl"),
    ("sctp", False, "Services and pods with protocol: SCTP (their rules load without it, but no pod can open an SCTP socket)", "modprobe sctp (package linux-modules-extra on Ubuntu); on the host, if this is a container"),
    ("wireguard", False, "nothing yet (encrypted overlays in some CNIs)", "modprobe wireguard, if you want to experiment with it"),
    ("netem", False, "nothing yet (emulated latency and loss between nodes)", "modprobe sch_netem (package linux-modules-extra on Ubuntu)"),
)


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


def check_bridge_netfilter_scope(facts: Facts) -> Check:
    """br_netfilter is global: with it loaded, the host's own bridges (Docker's, libvirt's)
    send their bridged traffic through the host's iptables too. Say who loaded it and whom
    it touches."""
    name = "host: br_netfilter scope"
    if not facts.host_bridge_nf:
        return Check(name, Status.skip, "br_netfilter is not loaded")
    origin = (
        "loaded by scripts/setup.sh for netlab, for this boot only (--persist-modules keeps it)"
        if facts.br_netfilter_by_setup
        else "loaded before netlab's set-up (by the system or another tool)"
    )
    bridges = sorted(link.name for link in facts.links if link.kind == "bridge")
    if not bridges:
        return Check(name, Status.ok, f"{origin}; no bridge in the host's namespace is affected")
    return Check(
        name, Status.warn,
        f"{origin}; bridged traffic of host bridge(s) {', '.join(bridges)} also passes the host's iptables",
        "if that disturbs them: sysctl net.bridge.bridge-nf-call-iptables=0 on the host (per namespace "
        "since Linux 5.3; netlab sets it only inside its node namespaces)",
    )  # fmt: skip


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


# knftables (and so upstream's nftables mode) refuses nft older than 1.0.1, which parsed the
# whole ruleset and could choke on other tables.
NFT_MIN_VERSION = (1, 0, 1)


def check_nft(facts: Facts) -> Check:
    fix = "apt-get install nftables (scripts/setup.sh does)"
    if not facts.nft_version:
        return Check("nft", Status.warn, "nft not found: only the iptables kube-proxy mode works (--kube-proxy-mode nftables needs it)", fix)
    found = re.search(r"v(\d+)\.(\d+)(?:\.(\d+))?", facts.nft_version)
    version = tuple(int(x or 0) for x in found.groups()) if found else (0, 0, 0)
    if version < NFT_MIN_VERSION:
        need = ".".join(map(str, NFT_MIN_VERSION))
        return Check("nft", Status.warn, f"{facts.nft_version} is older than {need}, which kube-proxy's nftables mode requires", fix)
    return Check("nft", Status.ok, f"{facts.nft_version} (kube-proxy's nftables mode)")


def check_ipvs(facts: Facts) -> Check:
    if not facts.ipvs_loaded:
        return Check("ipvs", Status.ok, "absent (netlab renders kube-proxy's iptables and nftables modes, never ipvs)")
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
    gone = missing(BGP_TOOLS)
    if gone:
        checks.append(Check(
            "tools: bgp", Status.warn, f"missing {', '.join(gone)}; optional, used by routing: bgp (BIRD 2 in every node)",
            "apt-get install bird2 (scripts/setup.sh does)",
        ))  # fmt: skip
    else:
        checks.append(Check("tools: bgp", Status.ok, "bird, birdc (BIRD 2, for routing: bgp)"))
    return checks


def run_checks(facts: Facts) -> list[Check]:
    return [
        check_root(facts),
        *check_kernel(facts),
        check_bridge_netfilter_scope(facts),
        check_bpf(facts),
        check_iptables_backend(facts),
        check_ipvs(facts),
        check_nft(facts),
        *check_tools(facts),
        *check_ranges(facts),
        *check_neighbours(facts),
        check_resolver(facts),
        check_leftovers(facts),
    ]


def exit_code(checks: list[Check]) -> int:
    """4 (environment problem) when a lab cannot work here, else 0."""
    return EXIT_ENVIRONMENT if any(c.status == Status.fail for c in checks) else EXIT_OK
