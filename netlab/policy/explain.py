"""`netlab policy explain`: why one connection is allowed or denied (pure).

The verdict comes from the same rules the renderer uses (netlab.policy.model): the source's
egress side, then the destination's ingress side; the connection passes when both allow it.
Each side lists the policies that isolate the pod and, for each of their rules, whether it
matches this connection and why not when it does not.
"""

from __future__ import annotations

from dataclasses import dataclass

from netlab.policy.model import (
    Direction,
    Policy,
    PolicyInputs,
    PolicyPod,
    PolicyRule,
    ip_family,
    isolating,
    peer_matches,
)


@dataclass(frozen=True)
class RuleVerdict:
    policy: str  # ns/name
    direction: Direction
    index: int
    allows: bool
    reason: str


@dataclass(frozen=True)
class SideVerdict:
    direction: Direction
    pod: str  # the pod whose side this is (ns/name)
    isolated_by: tuple[str, ...]  # empty: not isolated, everything allowed
    rules: tuple[RuleVerdict, ...]
    allowed: bool
    note: str = ""  # set when the side is decided before any policy is looked at


@dataclass(frozen=True)
class Explanation:
    source: PolicyPod
    destination: PolicyPod
    port: int
    protocol: str
    egress: SideVerdict
    ingress: SideVerdict
    family: int = 4  # the IP family of the connection (ipBlocks match only their own)

    @property
    def allowed(self) -> bool:
        return self.egress.allowed and self.ingress.allowed


def explain(
    inputs: PolicyInputs, source: PolicyPod, destination: PolicyPod, port: int, protocol: str, family: int | None = None
) -> Explanation:
    """Why a connection between two pods over `family` (default: the source's primary) is
    allowed or not."""
    family = family or ip_family(source.ip)
    return Explanation(
        source=source,
        destination=destination,
        port=port,
        protocol=protocol,
        egress=_side(inputs, "egress", source, destination, port, protocol, family),
        ingress=_side(inputs, "ingress", source, destination, port, protocol, family),
        family=family,
    )


def _side(inputs, direction: Direction, source, destination, port, protocol, family: int) -> SideVerdict:
    own, other = (source, destination) if direction == "egress" else (destination, source)
    if source == destination:
        note = "a pod's traffic to itself is always allowed"
        return SideVerdict(direction, own.key, (), (), True, note)
    policies = isolating(inputs, own, direction)
    if not policies:
        note = f"no policy selecting {own.key} has policyType {direction.capitalize()}: not isolated"
        return SideVerdict(direction, own.key, (), (), True, note)
    verdicts = tuple(
        _rule_verdict(inputs, policy, direction, index, rule, other, destination, port, protocol, family)
        for policy in policies
        for index, rule in enumerate(policy.rules(direction) or ())
    )
    allowed = any(v.allows for v in verdicts)
    note = "" if verdicts else "the isolating policies have no rules in this direction: everything is denied"
    return SideVerdict(direction, own.key, tuple(p.key for p in policies), verdicts, allowed, note)


def _rule_verdict(
    inputs: PolicyInputs,
    policy: Policy,
    direction: Direction,
    index: int,
    rule: PolicyRule,
    other: PolicyPod,
    destination: PolicyPod,
    port: int,
    protocol: str,
    family: int,
) -> RuleVerdict:
    side = "from" if direction == "ingress" else "to"
    if rule.peers:
        address = other.ip_for(family) or ""
        matching = [p for p in rule.peers if peer_matches(p, policy.namespace, inputs, other, address)]
        if not matching:
            peers = "; ".join(str(p) for p in rule.peers)
            return RuleVerdict(policy.key, direction, index, False, f"{other.key} is not {side} {peers}")
        peer_text = f"{side} {matching[0]}"
    else:
        peer_text = f"{side} anywhere"
    if rule.ports:
        ranges = [r for p in rule.ports if (r := p.resolve(destination)) is not None]
        hit = next((r for r in ranges if r.covers(protocol, port)), None)
        if hit is None:
            wanted = ", ".join(str(p) for p in rule.ports)
            named = [p.port for p in rule.ports if isinstance(p.port, str) and p.resolve(destination) is None]
            missing = f" ({destination.key} declares no port named {', '.join(map(str, named))})" if named else ""
            return RuleVerdict(policy.key, direction, index, False, f"port {port}/{protocol} is not one of {wanted}{missing}")
        port_text = f"port {hit}"
    else:
        port_text = "any port"
    return RuleVerdict(policy.key, direction, index, True, f"allows {peer_text}, {port_text}")


def explanation_lines(result: Explanation) -> list[str]:
    """The explanation as the CLI prints it."""
    src, dst = result.source, result.destination
    lines = [
        f"{src.key} ({src.ip_for(result.family)}, {src.node}) -> {dst.key} ({dst.ip_for(result.family)}, {dst.node})"
        f" port {result.port}/{result.protocol}",
    ]
    for side in (result.egress, result.ingress):
        word = "allowed" if side.allowed else "DENIED"
        lines.append(f"{side.direction.capitalize()} of {side.pod}: {word}")
        if side.isolated_by:
            lines.append(f"  isolated by: {', '.join(side.isolated_by)}")
        if side.note:
            lines.append(f"  {side.note}")
        for v in side.rules:
            lines.append(f"  {v.policy} {v.direction}[{v.index}]: {v.reason if v.allows else 'no match: ' + v.reason}")
        if not side.allowed:
            lines.append("  no rule allows it: the packet is dropped (the connection times out)")
    lines.append(f"Verdict: {'ALLOWED' if result.allowed else 'DENIED'}")
    return lines
