"""kube-proxy's iptables mode, rendered as one iptables-restore payload per node (pure).

The layout follows upstream's `syncProxyRules` (pkg/proxy/iptables/proxier.go): same chain names,
rule order, match order and comments (the per-service-port part is in `service_rules.py`), written the way kube-proxy writes its restore input (for
example `-d 10.96.0.10` without `/32`); after loading, `iptables-save` prints the same canonical
lines as on a real node.

Where netlab differs, and why: netlab owns the node namespace's `filter` and `nat` tables and
restores them whole (no `--noflush`), so the payload also declares the built-in chains and carries
the jump rules into the KUBE-* chains, which upstream installs separately with `iptables -I`
(EnsureRule Prepend) before its `--noflush` restore. It leaves out chains that belong to other
parts of a real node: KUBE-FIREWALL (kubelet's localnet guard) and KUBE-PROXY-CANARY (a monitor).

Each IP family gets its own payload, as upstream runs one proxier per family: the same chain
names and rules with that family's addresses, loaded by iptables-restore (4) or
ip6tables-restore (6). The one rule upstream spells differently: IPv6 NodePorts never answer on
::1 (`! -d ::1/128` on the catch-all jump to KUBE-NODEPORTS).
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable

from netlab.errors import InvalidInput
from netlab.policy.model import FilterRules
from netlab.proxy.hostports import NatRules
from netlab.proxy.names import (
    KUBE_EXTERNAL_SERVICES,
    KUBE_FORWARD,
    KUBE_MARK_MASQ,
    KUBE_NODEPORTS,
    KUBE_POSTROUTING,
    KUBE_PROXY_FIREWALL,
    KUBE_SERVICES,
)
from netlab.proxy.service_rules import PortRules, port_rules, service_chains
from netlab.proxy.syntax import chain_lines as _chain_lines
from netlab.proxy.syntax import comment as _comment
from netlab.proxy.syntax import rule as _rule
from netlab.proxy.types import ProxyConfig, ServicePortInfo

__all__ = ["render_rules", "service_chains"]

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

# Every sync renders every service port for every node, though between two syncs at most a
# few of them changed (upstream keeps a change tracker for the same reason). `port_rules` is
# pure over frozen, hashable inputs, so a port whose Service, endpoints and node are as before
# gets its rules from here. Live entries = service ports × nodes; past the bound the oldest go
# (rendered again when next seen: slower, never wrong). About 2.5 kB an entry; the bound holds
# 10,000 single-port Services on three nodes (an LRU smaller than what one sync walks through
# keeps nothing: each entry is gone before it is asked for again).
_port_rules = functools.lru_cache(maxsize=1 << 15)(port_rules)


def render_rules(
    ports: Iterable[ServicePortInfo], config: ProxyConfig, extra: FilterRules = FilterRules(), hostports: NatRules = NatRules()
) -> str:
    """The complete `filter` + `nat` iptables-restore payload for one node.

    `extra` carries another agent's filter chains (NetworkPolicy) into the same atomic restore,
    `hostports` the CNI portmap plugin's nat chains (`hostports.py`).
    """
    proxied = _proxied_ports(ports, config.family)
    large_cluster = sum(len(p.endpoints) for p in proxied) > LARGE_CLUSTER_ENDPOINTS_THRESHOLD
    plans = [_port_rules(p, config, not large_cluster) for p in proxied]
    lines = [*_filter_table(plans, config, extra), *_nat_table(plans, config, hostports)]
    return "\n".join(lines) + "\n"


def _proxied_ports(ports: Iterable[ServicePortInfo], family: int = 4) -> list[ServicePortInfo]:
    """Ports kube-proxy programs, sorted by ns/svc/port so the payload is stable."""
    proxied = sorted(
        (p for p in ports if not p.headless),
        key=lambda p: (p.namespace, p.service, p.port_name, p.protocol),
    )
    # Two entries for one service port would declare the same chain twice, which
    # iptables-restore rejects for the whole node; say which one instead.
    seen = Counter((p.name, p.protocol) for p in proxied)
    problems = [f"service port {n} ({proto}) is given {c} times" for (n, proto), c in seen.items() if c > 1]
    # A proxier sees only its own family's Services (upstream filters them by ipFamily).
    problems += [f"service port {p.name} ({p.protocol}) is IPv{p.family}, not IPv{family}" for p in proxied if p.family != family]
    if problems:
        raise InvalidInput(problems)
    return proxied


# --- filter table -------------------------------------------------------------------------------


def _filter_table(plans: list[PortRules], config: ProxyConfig, extra: FilterRules) -> list[str]:
    return [
        "*filter",
        *_builtin_chain_lines(_FILTER_BUILTINS),
        *_chain_lines(_FILTER_CHAINS),
        *_chain_lines(extra.chains),
        *extra.forward_jumps,  # first in FORWARD: policy judges before KUBE-FORWARD accepts
        *_jump_rules(_FILTER_JUMPS),
        *(rule for plan in plans for rule in plan.filter_rules),
        *_forward_rules(config),
        *extra.rules,
        "COMMIT",
    ]


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


def _nat_table(plans: list[PortRules], config: ProxyConfig, hostports: NatRules = NatRules()) -> list[str]:
    # kube-proxy prepends its jumps; the portmap plugin's come after them (as on a real node).
    chains = [*_NAT_CHAINS, *hostports.chains]
    rules = [*_jump_rules(_NAT_JUMPS), *hostports.jumps, *_masquerade_rules(config), *hostports.rules]
    for plan in plans:
        chains += plan.nat_chains
        rules += plan.nat_rules
    # Upstream: "this must be the last rule in this chain" — anything addressed to the node
    # itself that no Service matched is tried against the NodePorts. IPv6 NodePorts never work
    # on localhost (there is no route_localnet for IPv6), so upstream leaves ::1 out.
    rules.append(
        _rule(
            KUBE_SERVICES,
            *_comment("kubernetes service nodeports; NOTE: this must be the last rule in this chain"),
            "-m", "addrtype", "--dst-type", "LOCAL",
            *(("!", "-d", "::1/128") if config.family == 6 else ()),
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


# --- small helpers ------------------------------------------------------------------------------


def _jump_rules(jumps: Iterable[tuple[str, tuple[str, ...], str, str]]) -> list[str]:
    return [_rule(src, *extra, *_comment(comment), "-j", dst) for src, extra, comment, dst in jumps]


def _builtin_chain_lines(chains: Iterable[str]) -> list[str]:
    return [f":{chain} ACCEPT [0:0]" for chain in chains]


def render_policy_filter(extra: FilterRules, hostports: NatRules = NatRules()) -> str:
    """kube-proxy's nftables mode: only the NetworkPolicy agent's chains stay in iptables'
    filter table (as with CNIs that keep iptables while kube-proxy uses nftables), and the
    portmap plugin's hostPort chains in its nat table."""
    nat = ["*nat", *_builtin_chain_lines(_NAT_BUILTINS), *_chain_lines(hostports.chains), *hostports.jumps, *hostports.rules, "COMMIT"]
    lines = [
        "*filter",
        *_builtin_chain_lines(_FILTER_BUILTINS),
        *_chain_lines(extra.chains),
        *extra.forward_jumps,
        *extra.rules,
        "COMMIT",
        *nat,  # always: a table left out of a restore keeps its old chains
    ]
    return "\n".join(lines) + "\n"
