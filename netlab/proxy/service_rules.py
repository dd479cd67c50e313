"""The rules of one service port on one node: the body of upstream's per-service loop (pure).

Follows `syncProxyRules` in pkg/proxy/iptables/proxier.go, step by step:

- capture the cluster IP, external IPs, load-balancer IPs (KUBE-SERVICES) and the NodePort
  (KUBE-NODEPORTS), or — without usable endpoints — REJECT/DROP them in the filter table;
- KUBE-EXT-… handles everything that came from outside the Service's cluster IP: with the
  "Cluster" external traffic policy it marks the packet for SNAT (the endpoint may be on
  another node, and its reply must come back through this one); with "Local" it keeps the
  client's source address and goes to KUBE-SVL-… (this node's endpoints only), except for
  traffic from pods and from the node itself, which is short-circuited to KUBE-SVC-…;
- KUBE-FW-… lets only `loadBalancerSourceRanges` through to KUBE-EXT-…; what falls off its
  end is dropped by KUBE-PROXY-FIREWALL in the filter table;
- KUBE-SVC-… / KUBE-SVL-… pick an endpoint (ClientIP affinity first, with `-m recent`,
  then at random), KUBE-SEP-… DNATs to it.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from netlab.proxy import names
from netlab.proxy.categorize import categorize
from netlab.proxy.names import (
    KUBE_EXTERNAL_SERVICES,
    KUBE_MARK_MASQ,
    KUBE_NODEPORTS,
    KUBE_PROXY_FIREWALL,
    KUBE_SERVICES,
)
from netlab.proxy.syntax import comment, probability, rule
from netlab.proxy.types import Endpoint, ProxyConfig, ServicePortInfo


@dataclass(frozen=True)
class PortRules:
    filter_rules: tuple[str, ...]
    nat_chains: tuple[str, ...]  # in the order upstream declares them
    nat_rules: tuple[str, ...]


def service_chains(port: ServicePortInfo) -> tuple[str, tuple[str, ...]]:
    """(KUBE-SVC chain, its KUBE-SEP chains in rule order) for `describe svc`.

    The chains exist in the nat table only while the port has ready endpoints; without any,
    the port is a REJECT rule in the filter table instead.
    """
    return _svc(port), tuple(_sep(port, ep) for ep in port.ready_endpoints)


def port_rules(port: ServicePortInfo, config: ProxyConfig, with_comments: bool = True) -> PortRules:
    name = port.name
    eps = categorize(port, config.node_name)
    svc, svl = _svc(port), names.local_chain(name, port.protocol)
    ext, fw = names.external_chain(name, port.protocol), names.firewall_chain(name, port.protocol)

    internal_chain = svl if port.internal_policy_local else svc
    has_internal = eps.has_any and (bool(eps.local) or not port.internal_policy_local)
    external_policy_chain = svl if port.external_policy_local else svc
    has_external = eps.has_any and (bool(eps.local) or not port.external_policy_local)
    # The EXT chain exists whenever there are endpoints anywhere: its short-circuit rules for
    # pod and node traffic work even where this node has no local endpoint.
    uses_ext = eps.has_any and port.externally_accessible
    uses_fw = eps.has_any and bool(port.load_balancer_ips) and bool(port.load_balancer_source_ranges)
    lb_chain = fw if uses_fw else ext

    # No endpoints at all: REJECT ("connection refused" at once). Endpoints, but none on this
    # node for a Local policy: DROP, as a real node does.
    if not eps.has_any:
        internal_target = external_target = "REJECT"
        internal_comment = external_comment = f"{name} has no endpoints"
    else:
        internal_target = external_target = "DROP"
        internal_comment = external_comment = f"{name} has no local endpoints"

    filter_rules: list[str] = []
    nat_chains: list[str] = []
    nat_rules: list[str] = []

    if has_internal:
        nat_rules.append(rule(KUBE_SERVICES, *comment(f"{name} cluster IP"), *_to(port, port.cluster_ip), "-j", internal_chain))
    else:
        filter_rules.append(
            rule(KUBE_SERVICES, *comment(internal_comment), *_to(port, port.cluster_ip), "-j", internal_target)
        )

    for ip in port.external_ips:
        if eps.has_any:
            nat_rules.append(rule(KUBE_SERVICES, *comment(f"{name} external IP"), *_to(port, ip), "-j", ext))
        if not has_external:
            filter_rules.append(
                rule(KUBE_EXTERNAL_SERVICES, *comment(external_comment), *_to(port, ip), "-j", external_target)
            )

    for ip in port.load_balancer_ips:
        if eps.has_any:
            nat_rules.append(rule(KUBE_SERVICES, *comment(f"{name} loadbalancer IP"), *_to(port, ip), "-j", lb_chain))
        if uses_fw:
            filter_rules.append(
                rule(KUBE_PROXY_FIREWALL, *comment(f"{name} traffic not accepted by {fw}"), *_to(port, ip), "-j", "DROP")
            )
    if not has_external:
        for ip in port.load_balancer_ips:
            filter_rules.append(
                rule(KUBE_EXTERNAL_SERVICES, *comment(external_comment), *_to(port, ip), "-j", external_target)
            )

    if port.node_port:
        proto = port.protocol.lower()
        node_port = ["-m", proto, "-p", proto, "--dport", str(port.node_port)]
        if eps.has_any:
            # NodePorts are not subject to loadBalancerSourceRanges (upstream: "for better or
            # for worse ... and we can't change that").
            nat_rules.append(rule(KUBE_NODEPORTS, *comment(name), *node_port, "-j", ext))
        if not has_external:
            filter_rules.append(
                rule(
                    KUBE_EXTERNAL_SERVICES, *comment(external_comment),
                    "-m", "addrtype", "--dst-type", "LOCAL", *node_port,
                    "-j", external_target,
                )
            )  # fmt: skip

    if has_internal:
        # Traffic to the cluster IP from outside the pod network (the node itself, or a host
        # routing the service range to this node) is SNATed so replies come back through here
        # (upstream's LocalTrafficDetector by --cluster-cidr, IfNotLocal).
        nat_rules.append(
            rule(
                internal_chain, *comment(f"{name} cluster IP"), *_to(port, port.cluster_ip),
                "!", "-s", config.cluster_cidr, "-j", KUBE_MARK_MASQ,
            )
        )  # fmt: skip

    if uses_ext:
        nat_chains.append(ext)
        nat_rules += _external_rules(port, config, ext, svc, external_policy_chain if has_external else None)

    if uses_fw:
        nat_chains.append(fw)
        nat_rules += _firewall_rules(port, config, fw, ext)

    if eps.cluster and port.uses_cluster_endpoints:
        nat_chains.append(svc)
        nat_rules += _endpoint_choice(port, svc, eps.cluster, with_comments)
    if eps.local and port.uses_local_endpoints:
        nat_chains.append(svl)
        nat_rules += _endpoint_choice(port, svl, eps.local, with_comments)

    for ep in eps.reachable:
        nat_chains.append(_sep(port, ep))
        nat_rules += _endpoint_rules(port, ep, with_comments)

    return PortRules(tuple(filter_rules), tuple(nat_chains), tuple(nat_rules))


def _external_rules(port: ServicePortInfo, config: ProxyConfig, ext: str, svc: str, policy_chain: str | None) -> list[str]:
    name = port.name
    if not port.external_policy_local:
        # The endpoint may be on another node: masquerade, so its reply returns through this
        # node and is un-NATed here (the client's source IP is lost — Cluster policy's price).
        rules = [rule(ext, *comment(f"masquerade traffic for {name} external destinations"), "-j", KUBE_MARK_MASQ)]
    else:
        rules = [
            # Pods reaching an external address of the Service behave as if they went out to
            # the load balancer and came back in: no traffic policy applies.
            rule(ext, *comment(f"pod traffic for {name} external destinations"), "-s", config.cluster_cidr, "-j", svc),
            # The node's own traffic carries a local source address (maybe the LB IP itself):
            # it must be masqueraded, and may use any endpoint.
            rule(
                ext, *comment(f"masquerade LOCAL traffic for {name} external destinations"),
                "-m", "addrtype", "--src-type", "LOCAL", "-j", KUBE_MARK_MASQ,
            ),
            rule(
                ext, *comment(f"route LOCAL traffic for {name} external destinations"),
                "-m", "addrtype", "--src-type", "LOCAL", "-j", svc,
            ),
        ]  # fmt: skip
    if policy_chain is not None:
        rules.append(rule(ext, "-j", policy_chain))
    return rules


def _firewall_rules(port: ServicePortInfo, config: ProxyConfig, fw: str, ext: str) -> list[str]:
    name = port.name
    lb = comment(f"{name} loadbalancer IP")
    rules = [rule(fw, *lb, "-s", cidr, "-j", ext) for cidr in port.load_balancer_source_ranges]
    # A request from the node to its own LB IP loops back with the LB IP as source; allow
    # it when the node's address is inside an allowed range (upstream allowFromNode).
    node_ip = ipaddress.ip_address(config.node_ip) if config.node_ip else None
    if node_ip is not None and any(node_ip in ipaddress.ip_network(c) for c in port.load_balancer_source_ranges):
        rules += [rule(fw, *lb, "-s", ip, "-j", ext) for ip in port.load_balancer_ips]
    # What reaches the end was not DNATed; KUBE-PROXY-FIREWALL drops it in the filter table.
    rules.append(rule(fw, *comment(f"other traffic to {name} will be dropped by KUBE-PROXY-FIREWALL")))
    return rules


def _endpoint_choice(port: ServicePortInfo, chain: str, endpoints: tuple[Endpoint, ...], with_comments: bool) -> list[str]:
    """Upstream writeServiceToEndpointRules: affinity first, then a random pick."""
    rules = []
    if port.client_ip_affinity:
        # A client seen within the timeout goes back to the endpoint that served it: each
        # KUBE-SEP- chain records its clients in a `recent` list named after itself.
        for ep in endpoints:
            sep = _sep(port, ep)
            note = comment(f"{port.name} -> {ep.address}") if with_comments else []
            rules.append(
                rule(
                    chain, *note, "-m", "recent", "--name", sep,
                    "--rcheck", "--seconds", str(port.sticky_max_age_seconds), "--reap", "-j", sep,
                )
            )  # fmt: skip
    # Rule i matches with probability 1/(n-i) among the packets that fell through, so each of
    # the n endpoints is picked with probability 1/n; the last rule takes whatever is left.
    for i, ep in enumerate(endpoints):
        remaining = len(endpoints) - i
        note = comment(f"{port.name} -> {ep.address}") if with_comments else []
        statistic = ["-m", "statistic", "--mode", "random", "--probability", probability(remaining)]
        rules.append(rule(chain, *note, *(statistic if remaining > 1 else []), "-j", _sep(port, ep)))
    return rules


def _endpoint_rules(port: ServicePortInfo, ep: Endpoint, with_comments: bool) -> list[str]:
    sep = _sep(port, ep)
    note = comment(port.name) if with_comments else []
    protocol = port.protocol.lower()
    recent = ["-m", "recent", "--name", sep, "--set"] if port.client_ip_affinity else []
    return [
        # Hairpin: a pod reaching itself through its Service must be SNATed, or it would
        # answer its own address directly and the client's conntrack entry would not match.
        rule(sep, *note, "-s", ep.ip, "-j", KUBE_MARK_MASQ),
        rule(sep, *note, *recent, "-m", protocol, "-p", protocol, "-j", "DNAT", "--to-destination", ep.address),
    ]


def _to(port: ServicePortInfo, ip: str) -> list[str]:
    protocol = port.protocol.lower()
    return ["-m", protocol, "-p", protocol, "-d", ip, "--dport", str(port.port)]


def _svc(port: ServicePortInfo) -> str:
    return names.service_chain(port.name, port.protocol)


def _sep(port: ServicePortInfo, ep: Endpoint) -> str:
    return names.endpoint_chain(port.name, port.protocol, ep.address)
