"""Cluster lifecycle: create (checked, rolled back on failure), delete, list, reset.

Removal finds what to remove from the kernel itself — namespaces carrying netlab's marker on
`lo`, host links with netlab's alias, host routes with netlab's protocol number — so it works
when the state database is gone, and it never touches anything without those marks.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from ipaddress import IPv4Network

from netlab.lab import controller
from netlab import naming
from netlab.api.cluster import ClusterConfig, cluster_from_document
from netlab.errors import EnvironmentProblem, InvalidInput, KernelError
from netlab.kernel import ns
from netlab.kernel.netlink import RTPROT_NETLAB, Netlink
from netlab.apiserver.state import Lab, exists, init_lab, locked, names, open_lab, remove_state, store_path
from netlab.lab import underlay as network
from netlab.kubelet import sandbox
from netlab.lab.reconcile import Outcome, reconcile
from netlab.apiserver.store import Store
from netlab.lab.addons import system_objects


@dataclass
class Removed:
    namespaces: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    routes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def require_root() -> None:
    if os.geteuid() != 0:
        raise EnvironmentProblem(
            "netlab must run as root: it creates network namespaces, links and iptables rules",
            detail="run it with sudo",
        )


def require_tools() -> None:
    missing = [t for t in ("iptables-restore", "iptables-save") if shutil.which(t) is None]
    if missing:
        raise EnvironmentProblem(
            f"missing system tool(s): {', '.join(missing)}",
            detail="install them with scripts/setup.sh (apt-get install iptables)",
        )
    if not os.path.exists("/proc/sys/net/bridge"):
        raise EnvironmentProblem(
            "the br_netfilter kernel module is not loaded (Services need bridged traffic to pass iptables)",
            detail="load it on the host: modprobe br_netfilter",
        )


def _ranges(config: ClusterConfig) -> dict[str, IPv4Network]:
    return {"podCIDR": config.podCIDR, "serviceCIDR": config.serviceCIDR, "underlayCIDR": config.underlayCIDR}


def check_ranges(config: ClusterConfig) -> None:
    """Refuse ranges that overlap another lab or any route the host already has."""
    problems = []
    mine = _ranges(config)
    for other in names():
        if other == config.name:
            continue
        try:
            store = Store(store_path(other))
            other_config = cluster_from_document(store.get_meta("config"), other)
            store.close()
        except Exception:
            continue
        for field_name, net in mine.items():
            for other_field, other_net in _ranges(other_config).items():
                if net.overlaps(other_net):
                    problems.append(
                        f"Cluster {config.name}: spec.{field_name}: {net} overlaps {other_field} {other_net} of cluster {other}"
                    )
    own_link = naming.host_link(config.name)
    with Netlink() as host:
        for net, route in host.networks_routed():
            if route.dev == own_link:
                continue
            for field_name, mine_net in mine.items():
                if mine_net.overlaps(net):
                    via = f" dev {route.dev}" if route.dev else f" ({route.type})"
                    owner = (
                        " (a netlab lab's guard route: another lab, or leftovers — see netlab doctor)"
                        if route.proto == RTPROT_NETLAB
                        else ""
                    )
                    problems.append(
                        f"Cluster {config.name}: spec.{field_name}: {mine_net} overlaps the host route "
                        f"{net}{via}{owner}; choose other ranges in a Cluster config "
                        "(netlab cluster create --config FILE)"
                    )
    if problems:
        raise InvalidInput(sorted(set(problems)))


def create(config: ClusterConfig, *, retain: bool = False) -> tuple[Lab, Outcome]:
    require_root()
    require_tools()
    if exists(config.name):
        raise InvalidInput(f'cluster "{config.name}" already exists (delete it first: netlab cluster delete --name {config.name})')
    check_ranges(config)
    with locked(config.name):
        lab = init_lab(config)
        try:
            with lab.store.transaction():
                for kind, namespace, name, manifest in system_objects(config):
                    lab.store.put(kind, namespace, name, manifest)
                lab.store.set_status("Service", "kube-system", "kube-dns", {"clusterIP": str(config.clusterDNS)})
            outcome = reconcile(lab)
        except BaseException:
            if not retain:
                lab.close()
                _remove_cluster(config.name)
            raise
    return lab, outcome


def open_or_create(cluster: str) -> Lab:
    """The lab to apply to: the default cluster is created on first use, others must exist."""
    from netlab.api.cluster import default_cluster
    from netlab.apiserver.state import DEFAULT_CLUSTER

    if not exists(cluster) and cluster == DEFAULT_CLUSTER:
        lab, _ = create(default_cluster(cluster))
        return lab
    return open_lab(cluster)


def _owned_netns(cluster: str | None) -> list[tuple[str, str, str]]:
    """(name, cluster, role) of every netns carrying netlab's marker (of one cluster, or all)."""
    found = []
    for name in ns.list_netns():
        if cluster is not None and not name.startswith(cluster + "."):
            continue
        try:
            with Netlink(ns.netns_path(name)) as nl:
                owner = naming.parse_netns_marker(nl.alias("lo"))
        except (KernelError, OSError):
            continue
        if owner and (cluster is None or owner[0] == cluster):
            found.append((name, owner[0], owner[1]))
    return found


def _remove(cluster: str | None, networks: list[IPv4Network] | None) -> Removed:
    removed = Removed()
    owned = _owned_netns(cluster)
    # Pods first (their processes are stopped), then nodes and the fabric.
    # Empty pin files (a create killed before its bind mount) are no namespaces and carry no
    # mark; they are removed when their name belongs to a lab being removed.
    prefixes = {c for _, c, _ in owned} | set(names()) | ({cluster} if cluster else set())
    for name in ns.list_netns():
        path = ns.netns_path(name)
        if any(name.startswith(p + ".") for p in prefixes) and not ns.is_pinned(path):
            ns.delete_ns_file(path)
            removed.namespaces.append(name)
    pods = [name for name, _, role in owned if role.startswith("pod:")]
    try:
        sandbox.destroy_many(pods)
        removed.namespaces += pods
    except (KernelError, OSError) as exc:
        removed.problems.append(f"pod namespaces: {exc}")
    for name, _, role in owned:
        if role.startswith("pod:"):
            continue
        try:
            ns.delete_ns_file(ns.netns_path(name))
            removed.namespaces.append(name)
        except (KernelError, OSError) as exc:
            removed.problems.append(f"netns {name}: {exc}")
    for name in ns.list_utsns():
        if cluster is None or name.startswith(cluster + "."):
            ns.delete_ns_file(ns.utsns_path(name))
    with Netlink() as host:
        for link in host.link_names():
            alias = host.alias(link) or ""
            if alias == naming.link_marker(cluster) if cluster else alias.startswith(naming.MARKER + ":"):
                try:
                    host.delete_link(link)
                    removed.links.append(link)
                except KernelError as exc:
                    removed.problems.append(exc.message)
    before = {r.dst for r in _netlab_routes()}
    removed.problems += network.delete_host_routes(networks)
    removed.routes = sorted(before - {r.dst for r in _netlab_routes()})
    return removed


def _netlab_routes():
    with Netlink() as host:
        return [r for r in host.routes() if r.proto == RTPROT_NETLAB]


def _remove_cluster(cluster: str) -> Removed:
    networks = None
    if exists(cluster):
        try:
            store = Store(store_path(cluster))
            config = cluster_from_document(store.get_meta("config"), cluster)
            store.close()
            networks = list(_ranges(config).values())
        except Exception:
            networks = None
    if networks is None:
        # Without its config we cannot tell this cluster's routes from another lab's; keep them
        # unless no other lab exists (then every netlab route is an orphan).
        networks = [] if [n for n in names() if n != cluster] else None
    removed = _remove(cluster, networks)
    remove_state(cluster)
    return removed


def delete(cluster: str) -> Removed:
    require_root()
    controller.stop(cluster)
    with locked(cluster):
        return _remove_cluster(cluster)


def reset() -> Removed:
    """Remove every object netlab owns on this machine, with or without state; idempotent."""
    require_root()
    controller.stop_all()
    removed = _remove(None, None)
    root = naming.state_root()
    if os.path.isdir(root):
        for entry in os.listdir(root):
            shutil.rmtree(os.path.join(root, entry), ignore_errors=True)
    return removed
