"""kube-proxy's sync: per node, render the rules (pure, `render.py`) and load them with one
iptables-restore — only the changed chains when the node still holds what was loaded last
(`partial.py`) — then drop UDP flows still DNATed to endpoints that are gone (`conntrack.py`).

The NetworkPolicy agent's chains (`netlab/policy/render.py`) ride in the same atomic restore.
"""

from __future__ import annotations

import hashlib
import time

from netlab import naming
from netlab.apiserver.state import Lab
from netlab.controllers.endpoints import ServiceEndpoints
from netlab.errors import NetlabError
from netlab.kernel import conntrack, iptables, ns
from netlab.metallb import controller as metallb
from netlab.policy.model import PolicyInputs
from netlab.policy.render import render_policy
from netlab.proxy.conntrack import stale_flow_filters, udp_state
from netlab.proxy.hostports import PodHostPorts, host_ports_of, render_hostports
from netlab.proxy.partial import plan_sync
from netlab.proxy.render import render_rules
from netlab.proxy.types import (
    DEFAULT_STICKY_SECONDS,
    Endpoint,
    ProxyConfig,
    ServicePortInfo,
)


def proxy_ports(endpoints: list[ServiceEndpoints]) -> list[ServicePortInfo]:
    ports = []
    for se in endpoints:
        if se.cluster_ip is None:
            continue
        spec = se.service.spec
        node_ports = se.obj.status.get("nodePorts") or {}
        affinity = spec.sessionAffinityConfig.clientIP if spec.sessionAffinityConfig else None
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
                    external_ips=tuple(spec.externalIPs),
                    load_balancer_ips=tuple(metallb.ingress_ips(se.obj.status)) if spec.type == "LoadBalancer" else (),
                    load_balancer_source_ranges=tuple(spec.loadBalancerSourceRanges),
                    external_traffic_policy=spec.externalTrafficPolicy or "Cluster",
                    internal_traffic_policy=spec.internalTrafficPolicy or "Cluster",
                    session_affinity=spec.sessionAffinity or "None",
                    sticky_max_age_seconds=(affinity and affinity.timeoutSeconds) or DEFAULT_STICKY_SECONDS,
                )
            )
    return ports


def proxy_config(lab: Lab, node) -> ProxyConfig:
    return ProxyConfig(
        cluster_cidr=str(lab.topo.pod_cidr),
        node_name=node.name,
        node_ip=str(node.underlay_ip),
        service_cidr=str(lab.topo.service_cidr),
    )


def sync_rules(
    lab: Lab, endpoints: list[ServiceEndpoints], policy: PolicyInputs, down: frozenset[str], problems: list[str]
) -> int:
    """Load every live node's rules; the number of nodes whose rules changed."""
    ports = proxy_ports(endpoints)
    nftables_mode = lab.topo.kube_proxy_mode == "nftables"
    if nftables_mode:
        from netlab.proxy import nftsync  # only labs in nftables mode pay for the import
    synced = 0
    hostports = pods_with_host_ports(lab)
    for node in lab.topo.nodes:
        if node.name in down:
            continue
        path = ns.netns_path(naming.node_netns(lab.name, node.name))
        node_policy = render_policy(policy, node.name)
        policy_chains = max(len(node_policy.chains) - 1, 0)
        portmap = render_hostports(hostports.get(node.name, []))
        if nftables_mode:
            synced += nftsync.sync_node(lab, node.name, path, ports, proxy_config(lab, node), node_policy, problems, portmap)
            continue
        # kube-proxy's rules, the NetworkPolicy agent's and the portmap plugin's chains go in one atomic restore.
        payload = render_rules(ports, proxy_config(lab, node), node_policy, portmap)
        what = f"{len(ports)} service ports, {policy_chains} pod policy chains"
        synced += restore_rules(lab, node.name, path, payload, what, problems)
    _flush_stale_udp(lab, ports, down, problems)
    return synced


def pods_with_host_ports(lab: Lab) -> dict[str, list[PodHostPorts]]:
    """node -> its pods (with a sandbox and an IP) that ask for hostPorts."""
    found: dict[str, list[PodHostPorts]] = {}
    for o in lab.store.list("Pod"):
        box = o.status.get("sandbox") or {}
        if box.get("uid") != o.uid or not o.status.get("podIP") or ":" in o.status["podIP"] or box.get("hostNetwork"):
            continue  # a hostNetwork pod's ports are the node's own: nothing to forward
        ports = host_ports_of(o.manifest)
        if ports:
            found.setdefault(o.status["nodeName"], []).append(PodHostPorts(f"{o.namespace}/{o.name}", o.uid, o.status["podIP"], ports))
    return found


def restore_rules(lab: Lab, node: str, path: str, payload: str, what: str, problems: list[str]) -> int:
    """Load one node's iptables payload; 1 if it changed the kernel, 0 if it was already there."""
    # Skip the restore when this exact payload is already loaded in this exact namespace.
    inode, sha = ns.ns_inode(path), hashlib.sha256(payload.encode()).hexdigest()
    key = f"rules:{node}"
    loaded = lab.store.get_meta(key) or {}
    if loaded.get("inode") == inode and loaded.get("sha") == sha:
        return 0
    # kube-proxy's partial sync: only the chains that changed, when the namespace still
    # holds what we loaded last; anything else gets the whole tables.
    plan, chains = plan_sync(payload, loaded.get("chains") if loaded.get("inode") == inode else None)
    started = time.monotonic()
    try:
        if plan.payload is not None:
            iptables.restore(path, plan.payload, noflush=not plan.full)
    except NetlabError as exc:
        try:
            iptables.restore(path, payload)  # the partial payload was refused: start over
        except NetlabError:
            problems.append(f"node/{node}: {exc.message}: {exc.detail}")
            return 0
    lab.store.set_meta(key, {"inode": inode, "sha": sha, "chains": chains})
    lab.store.add_event(
        "Node", "", node, "RulesSynced",
        f"iptables-restore{'' if plan.full else ' --noflush'}: {plan.chains_sent} chains sent "
        f"({what}) in {(time.monotonic() - started) * 1000:.0f} ms",
    )  # fmt: skip
    return 1


UDP_STATE_KEY = "conntrack:udp"


def _flush_stale_udp(lab: Lab, ports: list[ServicePortInfo], down: frozenset[str], problems: list[str]) -> None:
    """After the rules changed, drop UDP flows still DNATed to gone endpoints (kube-proxy's
    CleanStaleEntries), in every node, where the flows live."""
    after = udp_state(ports)
    before = lab.store.get_meta(UDP_STATE_KEY) or {}
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
                conntrack.delete(path, args)
        except NetlabError as exc:
            problems.append(f"node/{node.name}: {exc.message}: {exc.detail}")
            return
    lab.store.set_meta(UDP_STATE_KEY, after)
