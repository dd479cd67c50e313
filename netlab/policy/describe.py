"""`netlab describe netpol`: a policy in kubectl's layout, plus which pods it means now (pure).

kubectl prints the selectors; netlab also says which running pods they match at this moment,
because that is the question a reader has ("does this select my pod?").
"""

from __future__ import annotations

from netlab.api.labels import Selector
from netlab.policy.model import Peer, Policy, PolicyInputs, PolicyRule, peer_pods


def describe_lines(policy: Policy, inputs: PolicyInputs) -> list[str]:
    in_namespace = [p for p in inputs.pods if p.namespace == policy.namespace]
    selected = [p.name for p in in_namespace if policy.selects(p)]
    if policy.selector.empty:
        selector = "<none> (Allowing the specific traffic to all pods in this namespace)"
    else:
        selector = str(policy.selector)
    lines = [
        "Spec:",
        f"  PodSelector:     {selector}",
        f"  Selects:         {_pod_words(selected, len(in_namespace), policy.namespace)}",
    ]
    lines += _direction_lines(policy, inputs, "ingress", "From", "Allowing ingress traffic")
    lines += _direction_lines(policy, inputs, "egress", "To", "Allowing egress traffic")
    types = [t for t, rules in (("Ingress", policy.ingress), ("Egress", policy.egress)) if rules is not None]
    lines.append(f"  Policy Types: {', '.join(types)}")
    return lines


def _pod_words(names: list[str], total: int, namespace: str) -> str:
    if not names:
        return f"no running pod of namespace {namespace} (of {total})"
    return f"{', '.join(names)} ({len(names)} of {total} running pods in namespace {namespace})"


def _direction_lines(policy: Policy, inputs: PolicyInputs, direction: str, word: str, title: str) -> list[str]:
    rules = policy.ingress if direction == "ingress" else policy.egress
    if rules is None:
        return [f"  Not affecting {direction} traffic"]
    lines = [f"  {title}:"]
    if not rules:
        lines.append(f"    <none> (Selected pods are isolated for {direction} connectivity)")
    for i, rule in enumerate(rules):
        if i:
            lines.append("    ----------")
        lines += _rule_lines(policy, inputs, rule, word)
    return lines


def _rule_lines(policy: Policy, inputs: PolicyInputs, rule: PolicyRule, word: str) -> list[str]:
    if rule.ports:
        ports = [f"    To Port: {p}" for p in rule.ports]
    else:
        ports = ["    To Port: <any> (traffic allowed to all ports)"]
    if not rule.peers:
        end = "source" if word == "From" else "destination"
        return [*ports, f"    {word}: <any> (traffic not restricted by {end})"]
    lines = [*ports, f"    {word}:"]
    for peer in rule.peers:
        lines += _peer_lines(policy, inputs, peer)
    return lines


def _peer_lines(policy: Policy, inputs: PolicyInputs, peer: Peer) -> list[str]:
    if peer.block is not None:
        lines = ["      IPBlock:", f"        CIDR: {peer.block}"]
        lines.append(f"        Except: {', '.join(map(str, peer.excepted)) or '<none>'}")
    else:
        lines = []
        if peer.namespaces is not None:
            lines.append(f"      NamespaceSelector: {_selector(peer.namespaces)}")
        if peer.pods is not None:
            lines.append(f"      PodSelector: {_selector(peer.pods)}")
    pods = [p.key for p in peer_pods(peer, policy.namespace, inputs)]
    lines.append(f"        = now: {', '.join(pods) if pods else 'no running pod'}")
    return lines


def _selector(selector: Selector) -> str:
    return "<none>" if selector.empty else str(selector)
