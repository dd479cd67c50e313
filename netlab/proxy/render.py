"""kube-proxy's iptables mode for ClusterIP Services, rendered as one iptables-restore payload (pure).

The layout follows upstream's `syncProxyRules` (pkg/proxy/iptables/proxier.go): same chain names,
rule order, match order and comments, written the way kube-proxy writes its restore input (for
example `-d 10.96.0.10` without `/32`); after loading, `iptables-save` prints the same canonical
lines as on a real node.

Where netlab differs, and why: netlab owns the node namespace's `filter` and `nat` tables and
restores them whole (no `--noflush`), so the payload also declares the built-in chains and carries
the jump rules into the KUBE-* chains, which upstream installs separately with `iptables -I`
(EnsureRule Prepend) before its `--noflush` restore. It leaves out chains that belong to other
parts of a real node: KUBE-FIREWALL (kubelet's localnet guard) and KUBE-PROXY-CANARY (a monitor).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from netlab.errors import InvalidInput
from netlab.proxy import names
from netlab.proxy.names import (
    KUBE_EXTERNAL_SERVICES,
    KUBE_FORWARD,
    KUBE_MARK_MASQ,
    KUBE_NODEPORTS,
    KUBE_POSTROUTING,
    KUBE_PROXY_FIREWALL,
    KUBE_SERVICES,
)
from netlab.proxy.types import Endpoint, FilterRules, ProxyConfig, ServicePort

# Upstream largeClusterEndpointsThreshold: above this many endpoints kube-proxy drops the
# per-endpoint comments to keep the payload small ("large cluster mode").
LARGE_CLUSTER_ENDPOINTS_THRESHOLD = 1000

# Upstream iptablesJumpChains are installed with EnsureRule(Prepend) one after another, so a
# real node lists them in reverse; these are the chains in the order iptables-save shows them.
_NEW = ("-m", "conntrack", "--ctstate", "NEW")
_FILTER_JUMPS = (
    ("INPUT", _NEW, "kubernetes load balancer firewall", KUBE_PROXY_FIREWALL),
    ("INPUT", (), "kubernetes health check service ports", KUBE_NODEPORTS),
    ("INPUT", _NEW, "kubernetes externally-visible service portals", KUBE_EXTERNAL_SERVICES),
    ("FORWARD", _NEW, "kubernetes load balancer firewall", KUBE_PROXY_FIREWALL),
    ("FORWARD", (), "kubernetes forwarding rules", KUBE_FORWARD),
    ("FORWARD", _NEW, "kubernetes service portals", KUBE_SERVICES),
    ("FORWARD", _NEW, "kubernetes externally-visible service portals", KUBE_EXTERNAL_SERVICES),
    ("OUTPUT", _NEW, "kubernetes load balancer firewall", KUBE_PROXY_FIREWALL),
    ("OUTPUT", _NEW, "kubernetes service portals", KUBE_SERVICES),
)
_NAT_JUMPS = (
    ("PREROUTING", (), "kubernetes service portals", KUBE_SERVICES),
    ("OUTPUT", (), "kubernetes service portals", KUBE_SERVICES),
    ("POSTROUTING", (), "kubernetes postrouting rules", KUBE_POSTROUTING),
)
_FILTER_BUILTINS = ("INPUT", "FORWARD", "OUTPUT")
_NAT_BUILTINS = ("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING")
# Upstream writes the top-level chains in these orders, before any per-service chain.
_FILTER_CHAINS = (KUBE_SERVICES, KUBE_EXTERNAL_SERVICES, KUBE_FORWARD, KUBE_NODEPORTS, KUBE_PROXY_FIREWALL)
_NAT_CHAINS = (KUBE_SERVICES, KUBE_NODEPORTS, KUBE_POSTROUTING, KUBE_MARK_MASQ)


def render_rules(ports: Iterable[ServicePort], config: ProxyConfig, extra: FilterRules = FilterRules()) -> str:
    """The complete `filter` + `nat` iptables-restore payload for one node.

    `extra` carries another agent's filter chains (NetworkPolicy) into the same atomic restore.
    """
    proxied = _proxied_ports(ports)
    large_cluster = sum(len(p.endpoints) for p in proxied) > LARGE_CLUSTER_ENDPOINTS_THRESHOLD
    lines = [*_filter_table(proxied, config, extra), *_nat_table(proxied, config, not large_cluster)]
    return "\n".join(lines) + "\n"


def service_chains(port: ServicePort) -> tuple[str, tuple[str, ...]]:
    """(KUBE-SVC chain, its KUBE-SEP chains in rule order) for `describe svc`.

    The chains exist in the nat table only while the port has ready endpoints; without any,
    the port is a REJECT rule in the filter table instead.
    """
    return _svc_chain(port), tuple(_sep_chain(port, ep) for ep in port.ready_endpoints)


def _proxied_ports(ports: Iterable[ServicePort]) -> list[ServicePort]:
    """Ports kube-proxy programs, sorted by ns/svc/port so the payload is stable."""
    proxied = sorted(
        (p for p in ports if not p.headless),
        key=lambda p: (p.namespace, p.service, p.port_name, p.protocol),
    )
    # Two entries for one service port would declare the same chain twice, which
    # iptables-restore rejects for the whole node; say which one instead.
    seen = Counter((p.name, p.protocol) for p in proxied)
    duplicates = [f"service port {n} ({proto}) is given {c} times" for (n, proto), c in seen.items() if c > 1]
    if duplicates:
        raise InvalidInput(duplicates)
    return proxied


# --- filter table -------------------------------------------------------------------------------


def _filter_table(ports: list[ServicePort], config: ProxyConfig, extra: FilterRules) -> list[str]:
    return [
        "*filter",
        *_builtin_chain_lines(_FILTER_BUILTINS),
        *_chain_lines(_FILTER_CHAINS),
        *_chain_lines(extra.chains),
        *extra.forward_jumps,  # first in FORWARD: policy judges before KUBE-FORWARD accepts
        *_jump_rules(_FILTER_JUMPS),
        *(_reject_rule(p) for p in ports if not p.ready_endpoints),
        *_forward_rules(config),
        *extra.rules,
        "COMMIT",
    ]


def _reject_rule(port: ServicePort) -> str:
    # A Service with no endpoints is rejected in the filter table (ICMP port unreachable), so
    # clients see "connection refused" at once instead of a timeout; no nat chains exist for it.
    return _rule(
        KUBE_SERVICES, *_comment(f"{port.name} has no endpoints"), *_cluster_ip_match(port), "-j", "REJECT"
    )


def _forward_rules(config: ProxyConfig) -> list[str]:
    mark = f"{config.masquerade_mark}/{config.masquerade_mark}"
    return [
        # Conntrack INVALID packets would otherwise reach the pod un-DNATed and cause resets
        # (upstream installs this unless nf_conntrack_tcp_be_liberal is set; netlab leaves it 0).
        _rule(KUBE_FORWARD, "-m", "conntrack", "--ctstate", "INVALID", "-j", "DROP"),
        # Service traffic marked for SNAT is forwarded even under a DROP FORWARD policy.
        _rule(KUBE_FORWARD, *_comment("kubernetes forwarding rules"), "-m", "mark", "--mark", mark, "-j", "ACCEPT"),
        _rule(
            KUBE_FORWARD,
            *_comment("kubernetes forwarding conntrack rule"),
            "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED",
            "-j", "ACCEPT",
        ),
    ]  # fmt: skip


# --- nat table ----------------------------------------------------------------------------------


def _nat_table(ports: list[ServicePort], config: ProxyConfig, endpoint_comments: bool) -> list[str]:
    chains = list(_NAT_CHAINS)
    rules = [*_jump_rules(_NAT_JUMPS), *_masquerade_rules(config)]
    for port in ports:
        if not port.ready_endpoints:
            continue  # rejected in the filter table instead
        svc_chain, sep_chains = service_chains(port)
        chains += [svc_chain, *sep_chains]
        rules += _service_rules(port, config, endpoint_comments)
    # Upstream: "this must be the last rule in this chain" — anything addressed to the node
    # itself that no Service matched is tried against the NodePorts.
    rules.append(
        _rule(
            KUBE_SERVICES,
            *_comment("kubernetes service nodeports; NOTE: this must be the last rule in this chain"),
            "-m", "addrtype", "--dst-type", "LOCAL",
            "-j", KUBE_NODEPORTS,
        )
    )  # fmt: skip
    return ["*nat", *_builtin_chain_lines(_NAT_BUILTINS), *_chain_lines(chains), *rules, "COMMIT"]


def _masquerade_rules(config: ProxyConfig) -> list[str]:
    """KUBE-POSTROUTING and KUBE-MARK-MASQ: mark in one place, SNAT once on the way out."""
    mark = config.masquerade_mark
    return [
        _rule(KUBE_POSTROUTING, "-m", "mark", "!", "--mark", f"{mark}/{mark}", "-j", "RETURN"),
        # Clear the mark so a packet that re-traverses the stack is not masqueraded twice.
        _rule(KUBE_POSTROUTING, "-j", "MARK", "--xor-mark", mark),
        _rule(
            KUBE_POSTROUTING,
            *_comment("kubernetes service traffic requiring SNAT"),
            "-j", "MASQUERADE", "--random-fully",
        ),
        _rule(KUBE_MARK_MASQ, "-j", "MARK", "--or-mark", mark),
    ]  # fmt: skip


def _service_rules(port: ServicePort, config: ProxyConfig, endpoint_comments: bool) -> list[str]:
    svc_chain = _svc_chain(port)
    cluster_ip = [*_comment(f"{port.name} cluster IP"), *_cluster_ip_match(port)]
    return [
        _rule(KUBE_SERVICES, *cluster_ip, "-j", svc_chain),
        # Traffic to the cluster IP from outside the pod network (the node itself, or a host
        # routing the service range to this node) is SNATed so replies come back through here
        # (upstream's LocalTrafficDetector by --cluster-cidr, IfNotLocal).
        _rule(svc_chain, *cluster_ip, "!", "-s", config.cluster_cidr, "-j", KUBE_MARK_MASQ),
        *_load_balancing_rules(port, svc_chain, endpoint_comments),
        *(rule for ep in port.ready_endpoints for rule in _endpoint_rules(port, ep, endpoint_comments)),
    ]


def _load_balancing_rules(port: ServicePort, svc_chain: str, with_comments: bool) -> list[str]:
    # Upstream writeServiceToEndpointRules: rule i matches with probability 1/(n-i) among the
    # packets that fell through, so each of the n endpoints is picked with probability 1/n;
    # the last rule matches whatever is left.
    endpoints = port.ready_endpoints
    rules = []
    for i, ep in enumerate(endpoints):
        remaining = len(endpoints) - i
        comment = _comment(f"{port.name} -> {ep.address}") if with_comments else []
        statistic = ["-m", "statistic", "--mode", "random", "--probability", _probability(remaining)]
        rules.append(_rule(svc_chain, *comment, *(statistic if remaining > 1 else []), "-j", _sep_chain(port, ep)))
    return rules


def _endpoint_rules(port: ServicePort, ep: Endpoint, with_comments: bool) -> list[str]:
    sep_chain = _sep_chain(port, ep)
    comment = _comment(port.name) if with_comments else []
    protocol = port.protocol.lower()
    return [
        # Hairpin: a pod reaching itself through its Service must be SNATed, or it would
        # answer its own address directly and the client's conntrack entry would not match.
        _rule(sep_chain, *comment, "-s", ep.ip, "-j", KUBE_MARK_MASQ),
        _rule(sep_chain, *comment, "-m", protocol, "-p", protocol, "-j", "DNAT", "--to-destination", ep.address),
    ]


# --- small helpers ------------------------------------------------------------------------------


def _svc_chain(port: ServicePort) -> str:
    return names.service_chain(port.name, port.protocol)


def _sep_chain(port: ServicePort, ep: Endpoint) -> str:
    return names.endpoint_chain(port.name, port.protocol, ep.address)


def _probability(n: int) -> str:
    return f"{1.0 / n:0.10f}"  # upstream computeProbability: "%0.10f"


def _cluster_ip_match(port: ServicePort) -> list[str]:
    protocol = port.protocol.lower()
    return ["-m", protocol, "-p", protocol, "-d", port.cluster_ip, "--dport", str(port.port)]


def _comment(text: str) -> list[str]:
    # Upstream quotes the comments that contain spaces; iptables-restore splits on them.
    return ["-m", "comment", "--comment", f'"{text}"' if " " in text else text]


def _jump_rules(jumps: Iterable[tuple[str, tuple[str, ...], str, str]]) -> list[str]:
    return [_rule(src, *extra, *_comment(comment), "-j", dst) for src, extra, comment, dst in jumps]


def _builtin_chain_lines(chains: Iterable[str]) -> list[str]:
    return [f":{chain} ACCEPT [0:0]" for chain in chains]


def _chain_lines(chains: Iterable[str]) -> list[str]:
    return [f":{chain} - [0:0]" for chain in chains]


def _rule(chain: str, *args: str) -> str:
    return " ".join(("-A", chain, *args))
