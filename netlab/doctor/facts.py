"""Gather the facts `netlab doctor` judges: read-only looks at the host, plus one kernel probe.

Nothing here changes the host. The kernel probe creates links and rules, but only inside a
namespace of its own that dies with it (`netlab.kernel.features`). Without root the facts that
need it (namespace markers, the probe, other labs' state) are simply left empty; the root check
says why.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
from ipaddress import ip_interface, ip_network

from netlab.api.addressing import cluster_ranges
from netlab.api.cluster import ClusterConfig, cluster_from_document, default_cluster
from netlab.apiserver.state import names, store_path
from netlab.apiserver.store import Store
from netlab.doctor import checks as doctor
from netlab.doctor.model import Facts, HostLink, HostRoute, LabRanges, OwnedNetns, PodResolv
from netlab.kernel import features, ns, procs
from netlab.kernel.netlink import Netlink
from netlab.kubelet import sandbox
from netlab.naming import default_cluster_name


def _run(argv: list[str]) -> str | None:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def _host_rules() -> dict[str, int]:
    """How many rules the host has in each iptables backend (which one the host really uses)."""
    counts = {}
    for backend, tool in (("legacy", "iptables-legacy-save"), ("nf_tables", "iptables-nft-save")):
        if shutil.which(tool):
            text = _run([tool]) or ""
            counts[backend] = sum(1 for line in text.splitlines() if line.startswith("-A "))
    return counts


def lab_ranges(config: ClusterConfig) -> LabRanges:
    """A lab's ranges by field name, as the range-clash rule compares them."""
    return LabRanges(config.name, cluster_ranges(config), str(config.clusterDNS))


def _labs() -> tuple[list[LabRanges], list[str]]:
    """The labs with a state directory, and the names of those whose config cannot be read."""
    labs, unreadable = [], []
    for name in names():
        try:
            store = Store(store_path(name))
            try:
                labs.append(lab_ranges(cluster_from_document(store.get_meta("config"), name)))
            finally:
                store.close()
        except Exception:
            unreadable.append(name)  # e.g. written by a newer netlab with settings this one lacks
    return labs, unreadable


def _pod_resolv(owned: list[tuple[OwnedNetns, str]]) -> list[PodResolv]:
    """One running pod per lab: its /etc/resolv.conf exactly as its processes see it."""
    by_inode = procs.pids_by_netns()
    seen: dict[str, PodResolv] = {}
    for netns, role in owned:
        if not role.startswith("pod:") or netns.cluster in seen:
            continue
        try:
            pids = by_inode.get(ns.ns_inode(ns.netns_path(netns.name)), [])
        except OSError:
            continue
        for pid in pids:
            text = _read(f"/proc/{pid}/root/etc/resolv.conf")
            if text:
                pod = role.removeprefix("pod:").rsplit(":", 1)[0]
                seen[netns.cluster] = PodResolv(netns.cluster, pod, text)
                break
    return list(seen.values())


def gather(probe: bool = True) -> Facts:
    root = os.geteuid() == 0
    owned = [(OwnedNetns(name, cluster), role) for name, cluster, role in sandbox.owned_netns()] if root else []
    network = gather_network()
    default_name = default_cluster_name()
    planned = None
    if default_name not in {lab.name for lab in network.labs} | set(network.unreadable_labs):
        try:
            planned = lab_ranges(default_cluster(default_name))
        except Exception:
            planned = None  # an invalid NETLAB_CLUSTER name: apply reports it
    return dataclasses.replace(
        network,
        tools={tool: shutil.which(tool) for tool in doctor.ALL_TOOLS},
        kernel=features.probe_kernel() if root and probe else None,
        host_bridge_nf=os.path.isdir("/proc/sys/net/bridge"),
        br_netfilter_by_setup=os.path.exists(BR_NETFILTER_MARK),
        iptables_version=(_run(["iptables", "--version"]) or "").strip() or None,
        nft_version=(_run(["nft", "--version"]) or "").strip() or None if shutil.which("nft") else None,
        host_rules=_host_rules() if root else {},
        ipvs_loaded=os.path.exists("/proc/net/ip_vs"),
        bpf=os.path.exists("/proc/sys/kernel/unprivileged_bpf_disabled"),
        host_resolv=_read("/etc/resolv.conf"),
        netns=tuple(netns for netns, _ in owned),
        uts_pins=tuple(ns.list_utsns()),
        planned=planned,
        pod_resolv=tuple(_pod_resolv(owned)),
    )


# scripts/setup.sh writes this when it loads br_netfilter itself (it was not loaded before).
BR_NETFILTER_MARK = "/run/netlab/br_netfilter-loaded-by-setup"


def gather_network() -> Facts:
    """Only what the range-clash check needs (host routes, links, addresses, other labs): the
    preflight `netlab cluster create` runs; the other facts are left empty."""
    root = os.geteuid() == 0
    with Netlink() as host:
        routes = tuple(
            HostRoute(ip_network(r.dst), r.dev, r.proto, r.type) for r in host.routes(family=None) if r.dst != "default"
        )
    labs, unreadable = _labs() if root else ([], [])
    return Facts(
        euid=os.geteuid(),
        tools={},
        kernel=None,
        host_bridge_nf=False,
        iptables_version=None,
        host_rules={},
        ipvs_loaded=False,
        bpf=False,
        host_resolv="",
        routes=routes,
        links=tuple(HostLink(*link) for link in features.host_links()),
        addresses=tuple((dev, ip_interface(addr)) for dev, addr in features.host_addresses()),
        netns=(),
        uts_pins=(),
        labs=tuple(labs),
        unreadable_labs=tuple(unreadable),
    )
