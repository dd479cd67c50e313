"""NetworkPolicy → the filter-table chains of one node (pure).

The layout follows the iptables policy agents (kube-router's KUBE-ROUTER-FORWARD →
KUBE-POD-FW-<hash>, Calico's cali-pi-/cali-po- per workload), kept to what netlab needs:

    FORWARD (first rule) → KUBE-NWPLCY-FORWARD
        replies of allowed connections (ctstate RELATED,ESTABLISHED)  → RETURN
        -s <pod IP> → KUBE-POD-EG-<hash>   one per egress-isolated pod on this node
        -d <pod IP> → KUBE-POD-IN-<hash>   one per ingress-isolated pod on this node
    KUBE-POD-EG/IN-<hash>: one RETURN per (peer, port) a rule allows, then DROP

RETURN means "allowed in this direction": a packet between two isolated pods of one node
passes the source's egress chain and then the destination's ingress chain in the same
traversal, and what both allow carries on down FORWARD to kube-proxy's KUBE-FORWARD.

Why FORWARD, first: it sees same-node traffic (bridged, through br_netfilter) and cross-node
traffic (routed) alike, and it runs after nat PREROUTING, so a connection to a Service is judged
against the backend pod it was DNATed to, as upstream's conformance tests expect. It must come
before KUBE-FORWARD, which accepts marked Service traffic outright.

Denied packets are DROPped, so a denied TCP connection times out (Calico's and Cilium's
default and what upstream's e2e model expects of most plugins) — never refused, never
half-working. Replies of connections that were allowed when they started keep passing (the
conntrack rule), so changing a policy does not cut established connections.

Each IP family gets the same chains (iptables' filter table for 4, ip6tables' for 6), filled
with the pods' addresses of that family and the `ipBlock` CIDRs of that family only.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
from collections.abc import Iterable

from netlab.policy.model import (
    Direction,
    FilterRules,
    Peer,
    Policy,
    PolicyInputs,
    PolicyPod,
    PolicyPort,
    PortRange,
    isolating,
    peer_pods,
)

POLICY_CHAIN = "KUBE-NWPLCY-FORWARD"
INGRESS_PREFIX = "KUBE-POD-IN-"
EGRESS_PREFIX = "KUBE-POD-EG-"
# iptables keeps at most 255 bytes of a comment.
_COMMENT_MAX = 250


def pod_chain(pod: PolicyPod, direction: Direction) -> str:
    """KUBE-POD-IN-/KUBE-POD-EG- + 16 characters of base32(sha256), like kube-proxy's hashes."""
    digest = hashlib.sha256(f"{pod.key}/{direction}".encode()).digest()
    prefix = INGRESS_PREFIX if direction == "ingress" else EGRESS_PREFIX
    return prefix + base64.b32encode(digest).decode()[:16]


def render_policy(inputs: PolicyInputs, node: str, family: int = 4) -> FilterRules:
    """The chains, rules and FORWARD jump for the isolated pods on `node` (none: nothing), in
    IP family `family`."""
    local = sorted((p for p in inputs.pods if p.node == node and p.ip_for(family)), key=lambda p: (p.namespace, p.name))
    chains: list[str] = []
    jumps: list[str] = []
    rules: list[str] = []
    for direction in ("egress", "ingress"):
        for pod in local:
            policies = isolating(inputs, pod, direction)
            if not policies:
                continue
            chain = pod_chain(pod, direction)
            chains.append(chain)
            address = pod.ip_for(family)
            match = ["-s", address] if direction == "egress" else ["-d", address]
            jumps.append(_rule(POLICY_CHAIN, *_comment(f"{pod.key} {direction}"), *match, "-j", chain))
            rules += _pod_rules(chain, pod, direction, policies, inputs, family)
    if not chains:
        return FilterRules()
    return FilterRules(
        chains=(POLICY_CHAIN, *chains),
        forward_jumps=(_rule("FORWARD", *_comment("kubernetes network policy"), "-j", POLICY_CHAIN),),
        rules=(
            _rule(
                POLICY_CHAIN,
                *_comment("replies of allowed connections"),
                "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED",
                "-j", "RETURN",
            ),
            *jumps,
            *rules,
        ),
    )  # fmt: skip


def _pod_rules(
    chain: str, pod: PolicyPod, direction: Direction, policies: list[Policy], inputs: PolicyInputs, family: int
) -> list[str]:
    other = "-s" if direction == "ingress" else "-d"
    lines = [
        # A pod reaching itself through its own Service comes back here; a pod cannot block
        # its own traffic (upstream: "Pods cannot block localhost access").
        _rule(chain, *_comment(f"{pod.key} to itself"), other, pod.ip_for(family), "-j", "RETURN"),
    ]
    if direction == "ingress":
        # Traffic from the pod's own node is always allowed (kubelet probes). It normally
        # leaves through OUTPUT and never gets here; kube-router keeps the same rule for the
        # cases where it is forwarded.
        lines.append(
            _rule(chain, *_comment(f"{pod.key} from its node"), "-m", "addrtype", "--src-type", "LOCAL", "-j", "RETURN")
        )
    for policy in policies:
        for index, rule in enumerate(policy.rules(direction) or ()):
            comment = _comment(f"{policy.key} {direction}[{index}]")
            for address, port in _allowed(pod, direction, policy, rule.peers, rule.ports, inputs, family):
                lines.append(_rule(chain, *comment, *([other, address] if address else []), *_port_match(port), "-j", "RETURN"))
    names = ", ".join(p.key for p in policies)
    lines.append(_rule(chain, *_comment(f"{pod.key} {direction} isolated by {names}"), "-j", "DROP"))
    return _unique(lines)


def _allowed(
    pod: PolicyPod,
    direction: Direction,
    policy: Policy,
    peers: tuple[Peer, ...],
    ports: tuple[PolicyPort, ...],
    inputs: PolicyInputs,
    family: int,
) -> list[tuple[str | None, PortRange | None]]:
    """(other end's address or None for anyone, port range or None for anything) pairs."""
    if direction == "ingress":
        # Ports name the isolated pod's own ports; peers are sources.
        resolved = [r for p in ports if (r := p.resolve(pod)) is not None]
        if ports and not resolved:
            return []  # only named ports this pod does not declare: the rule allows nothing here
        return [(a, r) for a in _addresses(peers, policy, inputs, family) for r in (resolved or [None])]
    # Egress: numeric ports hold for every destination; a named port is looked up on each
    # destination pod, so it becomes one rule per pod that declares it.
    pairs: list[tuple[str | None, PortRange | None]] = []
    numeric = [r for p in ports if not isinstance(p.port, str) and (r := p.resolve(None)) is not None]
    named = [p for p in ports if isinstance(p.port, str)]
    if not ports or numeric:
        pairs += [(a, r) for a in _addresses(peers, policy, inputs, family) for r in (numeric or [None])]
    for dest in _destination_pods(peers, policy, inputs, family) if named else []:
        pairs += [(dest.ip_for(family), r) for p in named if (r := p.resolve(dest)) is not None]
    return pairs


def _addresses(peers: Iterable[Peer], policy: Policy, inputs: PolicyInputs, family: int) -> list[str | None]:
    """The other end's addresses in `family` (None: anyone). A rule whose peers have no
    address in this family (say, only an IPv6 ipBlock, seen from IPv4) allows nothing here."""
    peers = list(peers)
    if not peers:
        return [None]
    found: list[str | None] = []
    for peer in peers:
        if peer.is_block:
            found += [str(n) for n in peer.networks(family)]
        else:
            found += [p.ip_for(family) for p in _by_ip(peer_pods(peer, policy.namespace, inputs), family)]
    return _unique(found)


def _destination_pods(peers: Iterable[Peer], policy: Policy, inputs: PolicyInputs, family: int) -> list[PolicyPod]:
    peers = list(peers)
    if not peers:
        return _by_ip(inputs.pods, family)
    chosen = {p.key: p for peer in peers for p in peer_pods(peer, policy.namespace, inputs, family)}
    return _by_ip(chosen.values(), family)


def _port_match(port: PortRange | None) -> list[str]:
    if port is None:
        return []
    protocol = port.protocol.lower()
    if port.any_port:
        return ["-p", protocol]
    if port.first == port.last:
        return ["-p", protocol, "-m", protocol, "--dport", str(port.first)]
    return ["-p", protocol, "-m", "multiport", "--dports", f"{port.first}:{port.last}"]


def _by_ip(pods: Iterable[PolicyPod], family: int) -> list[PolicyPod]:
    """The pods with an address in `family`, in address order."""
    return sorted((p for p in pods if p.ip_for(family)), key=lambda p: ipaddress.ip_address(p.ip_for(family)))


def _unique(items: list) -> list:
    return list(dict.fromkeys(items))


def _comment(text: str) -> list[str]:
    text = text if len(text) <= _COMMENT_MAX else text[: _COMMENT_MAX - 3] + "..."
    return ["-m", "comment", "--comment", f'"{text}"' if " " in text else text]


def _rule(chain: str, *args: str) -> str:
    return " ".join(("-A", chain, *args))
