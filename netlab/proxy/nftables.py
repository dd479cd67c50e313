"""kube-proxy's nftables mode: Services + endpoints → the `ip kube-proxy` table of one node (pure).

Follows upstream's `setupNFTables` and `syncProxyRules` (pkg/proxy/nftables/proxier.go): the
same base chains, sets, maps, chain names (`nftnames.py`), rule text and comments, written as
knftables writes its transactions (`add chain ip kube-proxy …`, `add rule …`, `add element …`),
so `nft -f` takes it as it is and `nft list table ip kube-proxy` shows what a real node shows.
The IPv6 proxier's table is `ip6 kube-proxy`: the same names, with `ip6 daddr|saddr` matches
and `ipv6_addr` keys (upstream's ipX / ipvX_addr), so a dual-stack node has both tables.

What makes the mode different from iptables, and why it scales: a packet to a Service is one
lookup in the `service-ips` verdict map (address . protocol . port → `goto service-…`), not a
walk down a chain with a rule per Service; an endpoint is chosen by `numgen random mod N vmap`;
an update touches only the elements and chains that changed (`nftpartial.py`).

As upstream with `--nodeport-addresses primary` (the default in this mode): NodePorts answer
only on the node's own address (the `nodeport-ips` set), not on every local address as in
iptables mode. The local-traffic detector is the cluster CIDR (`--detect-local-mode
ClusterCIDR`), as in netlab's iptables mode.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field

from netlab.proxy import nftnames as n
from netlab.proxy.categorize import categorize
from netlab.proxy.render import _proxied_ports
from netlab.proxy.types import ProxyConfig, ServicePortInfo

PREFIX = f"{n.FAMILY} {n.TABLE}"  # "ip kube-proxy", after every `add chain|rule|set|map|element`


def table_prefix(family: int) -> str:
    """ "ip kube-proxy" or "ip6 kube-proxy": the table of the proxier for that IP family."""
    return f"{n.table_family(family)} {n.TABLE}"


def _ipx(family: int) -> str:
    return "ip6" if family == 6 else "ip"  # upstream ipX: the payload expression's protocol


def _addr_type(family: int) -> str:
    return "ipv6_addr" if family == 6 else "ipv4_addr"  # upstream ipvX_addr


@dataclass(frozen=True)
class Element:
    key: str  # e.g. "10.96.0.10 . udp . 53"
    value: str = ""  # a verdict for maps ("goto service-…"), "" for sets
    comment: str = ""


@dataclass(frozen=True)
class PortObjects:
    """What one service port adds to the table on one node."""

    chains: tuple[tuple[str, tuple[str, ...]], ...]  # (chain, its rules), upstream's order
    sets: tuple[tuple[str, str], ...]  # (affinity set, its declaration)
    elements: tuple[tuple[str, Element], ...]  # (set or map, element)
    # (chain, hash of its rules): computed once per port, so that comparing 20,000 chains
    # with the last load does not hash them all again at every sync.
    chain_hashes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class NftRuleset:
    """The whole table for one node: the fixed skeleton plus every service port's objects."""

    skeleton: tuple[str, ...]  # table, base chains, top-level chains and their rules, sets/maps
    chains: dict[str, tuple[str, ...]] = field(default_factory=dict)  # per-service chains → rules
    sets: dict[str, str] = field(default_factory=dict)  # affinity sets → declaration
    elements: dict[str, dict[str, Element]] = field(default_factory=dict)  # set/map → key → element
    chain_hashes: dict[str, str] = field(default_factory=dict)  # per-service chains → hash of rules
    family: int = 4

    @property
    def prefix(self) -> str:
        return table_prefix(self.family)

    @property
    def skeleton_hash(self) -> str:
        return hashlib.sha256("\n".join(self.skeleton).encode()).hexdigest()[:16]


# Upstream nftablesBaseChains: (name, type, hook, priority). Filtering runs before DNAT so it
# sees the Service's address, not the endpoint's. Upstream's priorities are "dstnat-10",
# "dstnat+10", "dstnat", "srcnat"; written as numbers (dstnat = -100, srcnat = 100) because
# nft 1.0.6 accepts the names only with the hooks they belong to.
BASE_CHAINS = (
    (n.FILTER_PREROUTING, "filter", "prerouting", "-110"),
    (n.FILTER_INPUT, "filter", "input", "-110"),
    (n.FILTER_FORWARD, "filter", "forward", "-110"),
    (n.FILTER_OUTPUT, "filter", "output", "-110"),
    (n.FILTER_OUTPUT_POST_DNAT, "filter", "output", "-90"),
    (n.NAT_PREROUTING, "nat", "prerouting", "-100"),
    (n.NAT_OUTPUT, "nat", "output", "-100"),
    (n.NAT_POSTROUTING, "nat", "postrouting", "100"),
)
# Upstream nftablesJumpChains: (destination, source, extra match). REJECT is not allowed in
# prerouting on older kernels, hence the endpoint checks in input/forward/output.
JUMP_CHAINS = (
    (n.NODEPORT_ENDPOINTS_CHECK, n.FILTER_INPUT, "ct state new"),
    (n.SERVICE_ENDPOINTS_CHECK, n.FILTER_INPUT, "ct state new"),
    (n.SERVICE_ENDPOINTS_CHECK, n.FILTER_FORWARD, "ct state new"),
    (n.SERVICE_ENDPOINTS_CHECK, n.FILTER_OUTPUT, "ct state new"),
    (n.FIREWALL_CHECK, n.FILTER_PREROUTING, "ct state new"),
    (n.FIREWALL_CHECK, n.FILTER_OUTPUT, "ct state new"),
    (n.SERVICES, n.NAT_OUTPUT, ""),
    (n.SERVICES, n.NAT_PREROUTING, ""),
    (n.MASQUERADING, n.NAT_POSTROUTING, ""),
    (n.CLUSTER_IPS_CHECK, n.FILTER_FORWARD, "ct state new"),
    (n.CLUSTER_IPS_CHECK, n.FILTER_OUTPUT_POST_DNAT, "ct state new"),
)
_ADDR_KEY = "{addr} . inet_proto . inet_service : verdict"
_PORT_KEY = "inet_proto . inet_service : verdict"
# The sets and maps whose elements every sync recomputes, with their declarations ({addr}:
# the family's address type).
CONTAINERS = (
    ("set", n.CLUSTER_IPS, "{addr}", "Active ClusterIPs"),
    ("set", n.NODEPORT_IPS, "{addr}", "IPs that accept NodePort traffic"),
    ("map", n.NO_ENDPOINT_SERVICES, _ADDR_KEY, "vmap to drop or reject packets to services with no endpoints"),
    ("map", n.NO_ENDPOINT_NODEPORTS, _PORT_KEY, "vmap to drop or reject packets to service nodeports with no endpoints"),
    ("map", n.FIREWALL_IPS, _ADDR_KEY, "destinations that are subject to LoadBalancerSourceRanges"),
    ("map", n.SERVICE_IPS, _ADDR_KEY, "ClusterIP, ExternalIP and LoadBalancer IP traffic"),
    ("map", n.SERVICE_NODEPORTS, _PORT_KEY, "NodePort traffic"),
)


def masquerade_mark(config: ProxyConfig) -> str:
    return f"{1 << config.masquerade_bit:#08x}"  # upstream: fmt.Sprintf("%#08x", …) → 0x004000


def render_nft(ports: Iterable[ServicePortInfo], config: ProxyConfig) -> NftRuleset:
    """The `ip kube-proxy` (`ip6 kube-proxy`) table for one node and the config's family
    (`full_script` writes it as one transaction)."""
    ruleset = NftRuleset(skeleton=_skeleton(config), family=config.family)
    elements = ruleset.elements
    for kind, name, _, _ in CONTAINERS:
        elements[name] = {}
    if config.node_ip:
        elements[n.NODEPORT_IPS][config.node_ip] = Element(config.node_ip)
    for port in _proxied_ports(ports, config.family):
        objects = port_objects(port, config)
        ruleset.chains.update(objects.chains)
        ruleset.chain_hashes.update(objects.chain_hashes)
        ruleset.sets.update(objects.sets)
        for container, element in objects.elements:
            elements[container][element.key] = element
    return ruleset


def full_script(ruleset: NftRuleset) -> str:
    """One `nft -f` transaction that replaces the table whole (add + delete + build)."""
    prefix = ruleset.prefix
    lines = [f"add table {prefix}", f"delete table {prefix}", *ruleset.skeleton]
    lines += [set_line(name, decl, prefix) for name, decl in ruleset.sets.items()]
    for chain in ruleset.chains:
        lines.append(f"add chain {prefix} {chain}")
    for chain, rules in ruleset.chains.items():
        lines += [rule_line(chain, r, prefix) for r in rules]
    for container, members in ruleset.elements.items():
        lines += [element_line("add", container, e, prefix) for e in members.values()]
    return "\n".join(lines) + "\n"


def rule_line(chain: str, rule: str, prefix: str = PREFIX) -> str:
    return f"add rule {prefix} {chain} {rule}"


def set_line(name: str, declaration: str, prefix: str = PREFIX) -> str:
    return f"add set {prefix} {name} {declaration}"


def element_line(verb: str, container: str, e: Element, prefix: str = PREFIX) -> str:
    if verb == "delete":
        return f"delete element {prefix} {container} {{ {e.key} }}"
    comment = f' comment "{e.comment}"' if e.comment else ""
    value = f" : {e.value}" if e.value else ""
    return f"{verb} element {prefix} {container} {{ {e.key}{comment}{value} }}"


# --- the skeleton: upstream setupNFTables -------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _skeleton(config: ProxyConfig) -> tuple[str, ...]:
    mark = masquerade_mark(config)
    prefix, ip = table_prefix(config.family), _ipx(config.family)

    def rule(chain: str, text: str) -> str:
        return rule_line(chain, text, prefix)

    lines = [f'add table {prefix} {{ comment "rules for kube-proxy" ; }}']
    for name, kind, hook, priority in BASE_CHAINS:
        lines.append(f"add chain {prefix} {name} {{ type {kind} hook {hook} priority {priority} ; }}")
    top = dict.fromkeys(
        [dst for dst, _, _ in JUMP_CHAINS] + [n.SERVICES, n.CLUSTER_IPS_CHECK, n.MASQUERADING, n.MARK_MASQ]
    )
    lines += [f"add chain {prefix} {chain}" for chain in top]
    lines += [rule(src, f"{extra} jump {dst}".strip()) for dst, src, extra in JUMP_CHAINS]
    lines += [
        rule(n.MARK_MASQ, f"mark set mark or {mark}"),
        rule(n.MASQUERADING, f"mark and {mark} == 0 return"),
        rule(n.MASQUERADING, f"mark set mark xor {mark}"),
        rule(n.MASQUERADING, "masquerade fully-random"),
    ]
    for kind, name, key, comment in CONTAINERS:
        lines.append(f'add {kind} {prefix} {name} {{ type {key.format(addr=_addr_type(config.family))} ; comment "{comment}" ; }}')
    lines.append(rule(n.CLUSTER_IPS_CHECK, f'{ip} daddr @{n.CLUSTER_IPS} reject comment "Reject traffic to invalid ports of ClusterIPs"'))
    if config.service_cidr:
        lines.append(rule(n.CLUSTER_IPS_CHECK, f'{ip} daddr {{ {config.service_cidr} }} drop comment "Drop traffic to unallocated ClusterIPs"'))
    lines.append(f'add chain {prefix} {n.REJECT_CHAIN} {{ comment "helper for @no-endpoint-services / @no-endpoint-nodeports" ; }}')
    lines.append(rule(n.REJECT_CHAIN, "reject"))
    lines.append(rule(n.SERVICE_ENDPOINTS_CHECK, f"{ip} daddr . meta l4proto . th dport vmap @{n.NO_ENDPOINT_SERVICES}"))
    lines.append(rule(n.NODEPORT_ENDPOINTS_CHECK, f"{ip} daddr @{n.NODEPORT_IPS} meta l4proto . th dport vmap @{n.NO_ENDPOINT_NODEPORTS}"))
    lines.append(rule(n.FIREWALL_CHECK, f"{ip} daddr . meta l4proto . th dport vmap @{n.FIREWALL_IPS}"))
    lines.append(rule(n.SERVICES, f"{ip} daddr . meta l4proto . th dport vmap @{n.SERVICE_IPS}"))
    lines.append(rule(n.SERVICES, f"{ip} daddr @{n.NODEPORT_IPS} meta l4proto . th dport vmap @{n.SERVICE_NODEPORTS}"))
    return tuple(lines)


# --- one service port: the body of upstream's per-service loop ----------------------------------


@functools.lru_cache(maxsize=16384)
def port_objects(port: ServicePortInfo, config: ProxyConfig) -> PortObjects:
    proto, ipx = port.protocol.lower(), _ipx(config.family)
    names = (port.namespace, port.service, port.protocol, port.port_name)
    eps = categorize(port, config.node_name)
    cluster_chain, local_chain = n.service_chain(*names), n.local_chain(*names)
    external_chain, fw_chain = n.external_chain(*names), n.firewall_chain(*names)
    endpoint_chain = {e: n.endpoint_chain(*names, e.ip, e.port) for e in eps.reachable}
    affinity = {e: n.affinity_set(*names, e.ip, e.port) for e in eps.reachable}

    uses_cluster_chain = bool(eps.cluster) and port.uses_cluster_endpoints
    uses_local_chain = bool(eps.local) and port.uses_local_endpoints
    internal_chain = local_chain if port.internal_policy_local else cluster_chain
    has_internal = eps.has_any and not (port.internal_policy_local and not eps.local)
    external_policy_chain = local_chain if port.external_policy_local else cluster_chain
    has_external = eps.has_any and not (port.external_policy_local and not eps.local)
    uses_external_chain = eps.has_any and port.externally_accessible
    uses_fw_chain = bool(port.load_balancer_ips) and bool(port.load_balancer_source_ranges)
    # No endpoints anywhere: reject ("connection refused"); endpoints, but none here for a
    # Local policy: drop, as a real node does.
    internal_verdict = external_verdict = f"goto {n.REJECT_CHAIN}" if not eps.has_any else "drop"

    elements: list[tuple[str, Element]] = [(n.CLUSTER_IPS, Element(port.cluster_ip))]
    key = f"{port.cluster_ip} . {proto} . {port.port}"
    if has_internal:
        elements.append((n.SERVICE_IPS, Element(key, f"goto {internal_chain}")))
    else:
        elements.append((n.NO_ENDPOINT_SERVICES, Element(key, internal_verdict, port.name)))
    for ip in port.external_ips:
        key = f"{ip} . {proto} . {port.port}"
        if eps.has_any:
            elements.append((n.SERVICE_IPS, Element(key, f"goto {external_chain}")))
        if not has_external:
            elements.append((n.NO_ENDPOINT_SERVICES, Element(key, external_verdict, port.name)))
    for ip in port.load_balancer_ips:
        key = f"{ip} . {proto} . {port.port}"
        if eps.has_any:
            elements.append((n.SERVICE_IPS, Element(key, f"goto {external_chain}")))
        if uses_fw_chain:
            elements.append((n.FIREWALL_IPS, Element(key, f"goto {fw_chain}")))
    if not has_external:
        for ip in port.load_balancer_ips:
            key = f"{ip} . {proto} . {port.port}"
            elements.append((n.NO_ENDPOINT_SERVICES, Element(key, external_verdict, port.name)))
    if port.node_port:
        key = f"{proto} . {port.node_port}"
        if eps.has_any:
            # NodePorts are not subject to loadBalancerSourceRanges (upstream: "and we can't change that").
            elements.append((n.SERVICE_NODEPORTS, Element(key, f"goto {external_chain}")))
        if not has_external:
            elements.append((n.NO_ENDPOINT_NODEPORTS, Element(key, external_verdict, port.name)))

    chains: dict[str, list[str]] = {}
    for e in eps.reachable:
        chains[endpoint_chain[e]] = []
    if uses_cluster_chain:
        chains[cluster_chain] = []
    if uses_local_chain:
        chains[local_chain] = []
    if uses_external_chain:
        chains[external_chain] = []
    if uses_fw_chain:
        chains[fw_chain] = []

    if has_internal:
        # Off-cluster traffic to the cluster IP (a host routing the service range here) is SNATed
        # so that replies come back through this node.
        chains[internal_chain].append(
            f"{ipx} daddr {port.cluster_ip} {proto} dport {port.port} {ipx} saddr != {config.cluster_cidr} jump {n.MARK_MASQ}"
        )
    if uses_external_chain:
        rules = chains[external_chain]
        if not port.external_policy_local:
            rules.append(f"jump {n.MARK_MASQ}")  # the endpoint may be on another node
        else:
            rules.append(f'{ipx} saddr {config.cluster_cidr} goto {cluster_chain} comment "short-circuit pod traffic"')
            rules.append(f'fib saddr type local jump {n.MARK_MASQ} comment "masquerade local traffic"')
            rules.append(f'fib saddr type local goto {cluster_chain} comment "short-circuit local traffic"')
        if has_external:
            rules.append(f"goto {external_policy_chain}")
    if uses_fw_chain:
        sources = list(port.load_balancer_source_ranges)
        node_ip = ipaddress.ip_address(config.node_ip) if config.node_ip else None
        if node_ip and any(node_ip in ipaddress.ip_network(c) for c in sources):
            sources += port.load_balancer_ips  # the node reaches its own VIP from the VIP
        chains[fw_chain].append(f"{ipx} saddr != {{ {', '.join(sources)} }} drop")

    sets: list[tuple[str, str]] = []
    if port.client_ip_affinity:
        decl = f"{{ type {_addr_type(config.family)} ; flags dynamic,timeout ; timeout {port.sticky_max_age_seconds}s ; }}"
        sets = [(affinity[e], decl) for e in eps.reachable]
    if uses_cluster_chain:
        chains[cluster_chain] += _to_endpoints(port, eps.cluster, endpoint_chain, affinity, ipx)
    if uses_local_chain:
        chains[local_chain] += _to_endpoints(port, eps.local, endpoint_chain, affinity, ipx)
    for e in eps.reachable:
        rules = chains[endpoint_chain[e]]
        rules.append(f"{ipx} saddr {e.ip} jump {n.MARK_MASQ}")  # hairpin: a pod reaching itself
        if port.client_ip_affinity:
            rules.append(f"update @{affinity[e]} {{ {ipx} saddr }}")
        rules.append(f"meta l4proto {proto} dnat to {e.address}")
    return PortObjects(
        chains=tuple((c, tuple(r)) for c, r in chains.items()),
        sets=tuple(sets),
        elements=tuple(elements),
        chain_hashes=tuple((c, rules_hash(r)) for c, r in chains.items()),
    )


def rules_hash(rules: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(rules).encode()).hexdigest()[:16]


def _to_endpoints(port, endpoints, endpoint_chain, affinity, ip: str) -> list[str]:
    """Upstream writeServiceToEndpointRules: sticky clients first, then a random endpoint."""
    rules = []
    if port.client_ip_affinity:
        rules += [f"{ip} saddr @{affinity[e]} goto {endpoint_chain[e]}" for e in endpoints]
    vmap = ", ".join(f"{i} : goto {endpoint_chain[e]}" for i, e in enumerate(endpoints))
    rules.append(f"numgen random mod {len(endpoints)} vmap {{ {vmap} }}")
    return rules
