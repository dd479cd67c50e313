"""Cluster lifecycle: create (checked, rolled back on failure), delete, list, reset.

Removal finds what to remove from the kernel itself — namespaces carrying netlab's marker on
`lo`, host links with netlab's alias, host routes with netlab's protocol number — so it works
when the state database is gone, and it never touches anything without those marks.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass, field
from ipaddress import IPv4Network
from typing import TYPE_CHECKING, Sequence

from netlab import naming
from netlab.api.addressing import cluster_ranges, from_config
from netlab.api.cluster import ClusterConfig, cluster_from_document, default_cluster
from netlab.apiserver import admission
from netlab.apiserver.state import (
    Lab,
    exists,
    init_lab,
    lock_names,
    locked,
    names,
    open_lab,
    remove_state,
    store_path,
)
from netlab.apiserver.store import Store
from netlab.doctor.coexistence import range_clashes
from netlab.doctor.facts import gather_network, lab_ranges
from netlab.errors import InvalidInput, KernelError, NetlabError, RangeClash, require_root, require_tools
from netlab.kernel import ns
from netlab.kernel.netlink import Netlink
from netlab.kubelet import sandbox
from netlab.lab import bird, controlplane
from netlab.lab import underlay as network
from netlab.lab.addons import dns_status, kubernetes_status, system_objects
from netlab.lab.reconcile import Outcome, reconcile
from netlab.naming import DEFAULT_CLUSTER, RTPROT_NETLAB

if TYPE_CHECKING:
    from netlab.api.kinds import ApiObject


@dataclass
class Removed:
    namespaces: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    routes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def check_ranges(config: ClusterConfig) -> None:
    """kubeadm-style preflight: refuse ranges that overlap another lab, a host route or a host
    address — the same rule `netlab doctor` applies to labs that already exist."""
    facts = gather_network()
    problems = range_clashes(lab_ranges(config), facts)
    if problems:
        hint = "choose other ranges in a Cluster config (netlab cluster create --config FILE)"
        raise RangeClash([f"Cluster {config.name}: spec.{p}; {hint}" for p in sorted(set(problems))])


def _store_system_objects(lab: Lab) -> None:
    """What kubeadm and the apiserver would have created: the namespaces, `default/kubernetes`
    and the cluster DNS."""
    with lab.store.transaction():
        for kind, namespace, name, manifest in system_objects(lab.config):
            lab.store.put(kind, namespace, name, manifest)
            if (namespace, name) == ("default", "kubernetes"):  # single-stack, the first service address
                lab.store.set_status(kind, namespace, name, kubernetes_status(manifest))
        lab.store.set_status("Service", "kube-system", "kube-dns", dns_status(lab.config))


def admit_into_new_lab(config: ClusterConfig, objects: Sequence[ApiObject], where: Sequence[str]) -> list[str]:
    """What admission would refuse in a lab that does not exist yet (the default cluster a first
    `apply` creates), checked against a scratch store holding what a new lab starts with —
    before anything is built, so a refused first apply leaves no lab behind."""
    with tempfile.TemporaryDirectory(prefix="netlab-admit-") as scratch:
        lab = Lab(config, from_config(config), Store(os.path.join(scratch, "store.db")), scratch)
        try:
            _store_system_objects(lab)
            return admission.validate(lab, objects, where)
        finally:
            lab.close()


class AlreadyExists(InvalidInput):
    pass


def create(config: ClusterConfig, *, retain: bool = False) -> tuple[Lab, Outcome]:
    """Build the lab, then start its control plane (it keeps the lab alive from then on)."""
    require_root()
    require_tools()
    if config.routing == "bgp":
        bird.require_bird()  # before anything is built
    with locked(config.name):
        if exists(config.name):
            raise AlreadyExists(f'cluster "{config.name}" already exists (delete it first: netlab cluster delete --name {config.name})')
        check_ranges(config)
        lab = init_lab(config)
        try:
            _store_system_objects(lab)
            outcome = reconcile(lab)
            if config.routing == "bgp":
                for node in bird.wait_mesh(lab.topo):
                    outcome.problems.append(f"node {node} has not learned every other node's pods over BGP yet (see: netlab describe node {node})")
        except BaseException:
            if not retain:
                lab.close()
                _remove_cluster(config.name)
            raise
    # Returns with the lab alive: its control plane up (about a second to load) and answering.
    if controlplane.ensure_running(config.name) is None and controlplane.wait_running(config.name) is None:
        outcome.problems.append(f"the control plane did not start; its log: {controlplane.log_path(config.name)}")
    return lab, outcome


@dataclass(frozen=True)
class ClusterSummary:
    """One row of `netlab cluster list`; `problem` says why a lab could not be read."""

    name: str
    nodes: int = 0
    pods: int = 0
    pod_cidr: str = ""
    service_cidr: str = ""
    underlay: str = ""
    problem: str = ""


def _joined(networks) -> str:
    """Both families as kind writes them: 10.244.0.0/16,fd00:10:244::/56."""
    return ",".join(str(n) for n in networks)


def list_clusters() -> list[ClusterSummary]:
    summaries = []
    for name in names():
        try:
            lab = open_lab(name)
        except NetlabError as exc:
            summaries.append(ClusterSummary(name, problem=exc.message.splitlines()[0]))
            continue
        try:
            topo = lab.topo
            summaries.append(ClusterSummary(
                name, len(topo.nodes), len(lab.store.list("Pod")),
                _joined(topo.pod_cidrs), _joined(topo.service_cidrs), _joined(topo.underlays),
            ))  # fmt: skip
        finally:
            lab.close()
    return summaries


def ensure_default(cluster: str) -> bool:
    """The default cluster is created on first use (others must exist); True when created here."""
    if cluster != DEFAULT_CLUSTER or exists(cluster):
        return False
    try:
        lab, _ = create(default_cluster(cluster))
    except AlreadyExists:  # another command created it meanwhile
        return False
    lab.close()
    return True


def _remove(cluster: str | None, networks: list[IPv4Network] | None) -> Removed:
    removed = Removed()
    owned = sandbox.owned_netns(cluster)
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
    # Nodes and the fabric: a node's own processes (BIRD in a bgp lab) are stopped with it,
    # found by their namespace, so this works without any state too.
    others = [name for name, _, role in owned if not role.startswith("pod:")]
    try:
        sandbox.destroy_many(others)
        removed.namespaces += others
    except (KernelError, OSError) as exc:
        removed.problems.append(f"node namespaces: {exc}")
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
        return [r for r in host.routes(family=None) if r.proto == RTPROT_NETLAB]


def _remove_cluster(cluster: str) -> Removed:
    networks = None
    if exists(cluster):
        try:
            store = Store(store_path(cluster))
            config = cluster_from_document(store.get_meta("config"), cluster)
            store.close()
            networks = list(cluster_ranges(config).values())
        except Exception:
            networks = None
    if networks is None:
        # Without its config we cannot tell this cluster's routes from another lab's; keep them
        # unless no other lab exists (then every netlab route is an orphan).
        networks = [] if [n for n in names() if n != cluster] else None
    removed = _remove(cluster, networks)
    if removed.problems:
        # Teardown is idempotent: what raced the kernel's own cleanup (a link or route that went
        # with a namespace a moment later) is gone on a second look. Report what stays.
        again = _remove(cluster, networks)
        removed.namespaces += again.namespaces
        removed.links += again.links
        removed.routes += again.routes
        removed.problems = again.problems
    remove_state(cluster)
    return removed


def delete(cluster: str) -> Removed:
    """Stop the lab's control plane, then remove the lab under its lock (a command waiting
    for the lock finds the lab gone)."""
    require_root()
    with locked(cluster):
        controlplane.stop(cluster)
        return _remove_cluster(cluster)


def reset() -> Removed:
    """Remove every object netlab owns on this machine, with or without state; idempotent.
    Holds every lab's lock and stops every control plane first, so nothing rebuilds meanwhile;
    the lock files go when the locks are let go (no lab is left to lock)."""
    require_root()
    with ExitStack() as held:
        for cluster in sorted(set(names()) | set(controlplane.known()) | set(lock_names())):
            held.enter_context(locked(cluster))
            controlplane.stop(cluster)
        removed = _remove(None, None)
        root = naming.state_root()
        if os.path.isdir(root):
            for entry in os.listdir(root):
                shutil.rmtree(os.path.join(root, entry), ignore_errors=True)
    return removed
