"""kube-proxy's sync: per node, render the rules (pure, `render.py`) and load them with one
iptables-restore — only the changed chains when the node still holds what was loaded last
(`partial.py`) — then drop UDP flows still DNATed to endpoints that are gone (`conntrack.py`).

The NetworkPolicy agent's chains (`netlab/policy/render.py`) ride in the same atomic restore.

A dual-stack lab runs this once per IP family, as upstream's MetaProxier runs an IPv4 and an
IPv6 proxier: each sees its family's cluster IPs, endpoints, external addresses and source
ranges (upstream filters them by ipFamily), renders its own payload and loads it with
iptables-restore or ip6tables-restore; an IPv4-only lab does exactly what it did before.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from netlab import naming
from netlab.apiserver.state import Lab
from netlab.controllers.endpoints import ServiceEndpoints
from netlab.errors import NetlabError
from netlab.kernel import conntrack, iptables, ns
from netlab.metallb import controller as metallb
from netlab.policy.model import PolicyInputs
from netlab.policy.render import render_policy
from netlab.proxy.conntrack import stale_flow_filters, udp_state
from netlab.proxy.hostports import NatRules, PodHostPorts, host_ports_of, render_hostports
from netlab.proxy.partial import SyncPlan, plan_sync
from netlab.proxy.render import render_rules
from netlab.proxy.types import (
    DEFAULT_STICKY_SECONDS,
    Endpoint,
    ProxyConfig,
    ServicePortInfo,
)


RESTORE_WORKERS = 8  # nodes whose iptables-restore runs at once


def proxy_ports(endpoints: list[ServiceEndpoints], family: int = 4) -> list[ServicePortInfo]:
    """The service ports of `endpoints` (each Service already seen in `family`: its cluster IP
    and backends of that family) with their external addresses of that family only."""
    ports = []
    for se in endpoints:
        if se.cluster_ip is None:
            continue
        spec = se.service.spec
        node_ports = se.obj.status.get("nodePorts") or {}
        affinity = spec.sessionAffinityConfig.clientIP if spec.sessionAffinityConfig else None
        lb_ips = metallb.ingress_ips(se.obj.status) if spec.type == "LoadBalancer" else ()
        for pe in se.ports:
            ports.append(
                ServicePortInfo(
                    namespace=se.obj.namespace,
                    service=se.obj.name,
                    port_name=pe.name,
                    protocol=pe.protocol,
                    cluster_ip=se.cluster_ip,
                    port=pe.port,
                    endpoints=tuple(
                        Endpoint(ip=b.ip, port=b.port, node=b.node, ready=b.ready, pod=b.pod) for b in pe.backends
                    ),
                    node_port=node_ports.get(pe.name, 0) if spec.type in ("NodePort", "LoadBalancer") else 0,
                    external_ips=_of_family(spec.externalIPs, family),
                    load_balancer_ips=_of_family(lb_ips, family),
                    load_balancer_source_ranges=_of_family(spec.loadBalancerSourceRanges, family),
                    external_traffic_policy=spec.externalTrafficPolicy or "Cluster",
                    internal_traffic_policy=spec.internalTrafficPolicy or "Cluster",
                    session_affinity=spec.sessionAffinity or "None",
                    sticky_max_age_seconds=(affinity and affinity.timeoutSeconds) or DEFAULT_STICKY_SECONDS,
                )
            )
    return ports


def _of_family(addresses, family: int) -> tuple[str, ...]:
    return tuple(a for a in addresses if (":" in a) == (family == 6))


def proxy_config(lab: Lab, node, family: int | None = None) -> ProxyConfig:
    """kube-proxy's flags on `node` for one family (default: the lab's primary)."""
    family = family or lab.topo.families[0]
    return ProxyConfig(
        cluster_cidr=str(lab.topo.pod_cidr_for(family)),
        node_name=node.name,
        node_ip=str(node.underlay_ip_for(family)),
        service_cidr=str(lab.topo.service_cidr_for(family)),
        family=family,
    )


def family_ports(lab: Lab, endpoints: list[ServiceEndpoints]) -> list[tuple[int, list[ServicePortInfo]]]:
    """(family, its service ports) for each family of the lab, primary first: each Service seen
    in that family (`for_family`), those without it left out, as upstream's proxier per family."""
    return [
        (f, proxy_ports([view for se in endpoints if (view := se.for_family(f)) is not None], f))
        for f in lab.topo.families
    ]


def sync_rules(
    lab: Lab, endpoints: list[ServiceEndpoints], policy: PolicyInputs, down: frozenset[str], problems: list[str]
) -> int:
    """Load every live node's rules; the number of nodes whose rules changed."""
    per_family = family_ports(lab, endpoints)
    nftables_mode = lab.topo.kube_proxy_mode == "nftables"
    if nftables_mode:
        from netlab.proxy import nftsync  # only labs in nftables mode pay for the import
    synced = 0
    restores: list[_Restore] = []  # iptables mode: loaded together once every node is rendered
    hostports = {f: pods_with_host_ports(lab, f) for f in lab.topo.families}
    for node in lab.topo.nodes:
        if node.name in down:
            continue
        path = ns.netns_path(naming.node_netns(lab.name, node.name))
        wanted = [(proxy_config(lab, node, f), ports, render_policy(policy, node.name, f)) for f, ports in per_family]
        # The portmap plugin's hostPort chains per family (iptables' / ip6tables' nat table).
        portmap = {f: render_hostports(pods.get(node.name, []), f) for f, pods in hostports.items()}
        if nftables_mode:
            families = [
                nftsync.FamilyRules(ports, config, node_policy, portmap.get(config.family, NatRules()))
                for config, ports, node_policy in wanted
            ]
            synced += nftsync.sync_node(lab, node.name, path, families, problems)
            continue
        for config, ports, node_policy in wanted:
            # kube-proxy's rules, the NetworkPolicy agent's and the portmap plugin's chains go in one atomic restore.
            payload = render_rules(ports, config, node_policy, portmap.get(config.family, NatRules()))
            what = f"{len(ports)} service ports, {max(len(node_policy.chains) - 1, 0)} pod policy chains"
            pending = _Restore.of(lab, node.name, path, payload, what, config.family)
            if pending is not None:
                restores.append(pending)
    changed_nodes = set()
    for pending, loaded in zip(restores, _load_all(restores)):
        if pending.record(lab, loaded, problems):
            changed_nodes.add(pending.node)
    synced += len(changed_nodes)
    for family, ports in per_family:
        _flush_stale_udp(lab, ports, down, problems, family)
    return synced


def pods_with_host_ports(lab: Lab, family: int = 4) -> dict[str, list[PodHostPorts]]:
    """node -> its pods (with a sandbox and an address of `family`) that ask for hostPorts."""
    found: dict[str, list[PodHostPorts]] = {}
    for o in lab.store.list("Pod"):
        box = o.status.get("sandbox") or {}
        if box.get("uid") != o.uid or box.get("hostNetwork"):
            continue  # a hostNetwork pod's ports are the node's own: nothing to forward
        ips = o.status.get("podIPs") or [o.status.get("podIP") or ""]
        ip = next((ip for ip in ips if ip and (6 if ":" in ip else 4) == family), None)
        ports = host_ports_of(o.manifest)
        if ports and ip:
            found.setdefault(o.status["nodeName"], []).append(PodHostPorts(f"{o.namespace}/{o.name}", o.uid, ip, ports))
    return found


def restore_rules(lab: Lab, node: str, path: str, payload: str, what: str, problems: list[str], family: int = 4) -> int:
    """Load one node's iptables (family 6: ip6tables) payload; 1 if it changed the kernel, 0 if
    it was already there."""
    pending = _Restore.of(lab, node, path, payload, what, family)
    if pending is None:
        return 0
    return pending.record(lab, pending.load(), problems)


@dataclass
class _Restore:
    """One node's restore in three steps, so that the nodes' kernel work can run at once
    (`sync_rules`), as every node's kube-proxy does its own: `of` and `record` read and
    write the store (this thread), `load` only runs iptables-restore in the node."""

    node: str
    path: str
    payload: str
    what: str
    family: int
    key: str
    inode: int
    sha: str
    plan: SyncPlan
    chains: dict

    @classmethod
    def of(cls, lab: Lab, node: str, path: str, payload: str, what: str, family: int) -> "_Restore | None":
        """None when this exact payload is already loaded in this exact namespace."""
        inode, sha = ns.ns_inode(path), hashlib.sha256(payload.encode()).hexdigest()
        key = f"rules:{node}" if family == 4 else f"rules{family}:{node}"
        loaded = lab.store.get_meta(key) or {}
        if loaded.get("inode") == inode and loaded.get("sha") == sha:
            return None
        # kube-proxy's partial sync: only the chains that changed, when the namespace still
        # holds what we loaded last; anything else gets the whole tables.
        plan, chains = plan_sync(payload, loaded.get("chains") if loaded.get("inode") == inode else None)
        return cls(node, path, payload, what, family, key, inode, sha, plan, chains)

    def load(self) -> tuple[float, NetlabError | None]:
        """(milliseconds it took, the refusal when even the whole payload was refused)."""
        started = time.monotonic()
        try:
            if self.plan.payload is not None:
                iptables.restore(self.path, self.plan.payload, noflush=not self.plan.full, family=self.family)
        except NetlabError as exc:
            try:
                iptables.restore(self.path, self.payload, family=self.family)  # the partial payload was refused: start over
            except NetlabError:
                return (time.monotonic() - started) * 1000, exc
        return (time.monotonic() - started) * 1000, None

    def record(self, lab: Lab, loaded: tuple[float, NetlabError | None], problems: list[str]) -> int:
        took, refused = loaded
        if refused is not None:
            problems.append(f"node/{self.node}: {refused.message}: {refused.detail}")
            return 0
        lab.store.set_meta(self.key, {"inode": self.inode, "sha": self.sha, "chains": self.chains})
        lab.store.add_event(
            "Node", "", self.node, "RulesSynced",
            f"{'ip6tables' if self.family == 6 else 'iptables'}-restore{'' if self.plan.full else ' --noflush'}: {self.plan.chains_sent} chains sent "
            f"({self.what}) in {took:.0f} ms",
        )  # fmt: skip
        return 1


def _load_all(restores: list[_Restore]) -> list[tuple[float, NetlabError | None]]:
    """Each node's iptables-restore, all at once: separate processes in separate namespaces,
    waited for by threads (a thousand pods over ten nodes: ten restores of ~70 ms each)."""
    if len(restores) < 2:
        return [r.load() for r in restores]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(len(restores), RESTORE_WORKERS)) as pool:
        return list(pool.map(_Restore.load, restores))


UDP_STATE_KEY = "conntrack:udp"


def _flush_stale_udp(lab: Lab, ports: list[ServicePortInfo], down: frozenset[str], problems: list[str], family: int) -> None:
    """After the rules changed, drop UDP flows still DNATed to gone endpoints (kube-proxy's
    CleanStaleEntries), in every node, where the flows live; per family, as each proxier does."""
    after = udp_state(ports)
    key = UDP_STATE_KEY if family == 4 else f"{UDP_STATE_KEY}{family}"
    before = lab.store.get_meta(key) or {}
    if after == before:
        return
    filters = stale_flow_filters(before, after)
    if filters and not conntrack.available():
        # Not fatal: the rules are right, only old UDP flows linger until they time out.
        lab.store.add_event(
            "Node", "", "", "ConntrackMissing",
            "conntrack not found: stale UDP flows were not flushed (apt-get install conntrack)", "Warning",
        )  # fmt: skip
        filters = []
    for node in lab.topo.nodes:
        if node.name in down:
            continue  # a failed node's flows died with it
        path = ns.netns_path(naming.node_netns(lab.name, node.name))
        try:
            for args in filters:
                conntrack.delete(path, args, family)
        except NetlabError as exc:
            problems.append(f"node/{node.name}: {exc.message}: {exc.detail}")
            return
    lab.store.set_meta(key, after)
