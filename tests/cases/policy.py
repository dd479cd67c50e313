"""NetworkPolicy cases over upstream's e2e model: namespaces x, y, z with pods a, b, c each, every
pod serving 80 and 81 (TCP and UDP, ports named serve-80-tcp, …). Used by tests/unit/test_policy.py
and tests/integration/test_rules_restore.py."""

from __future__ import annotations

import textwrap
from dataclasses import replace

import yaml

from netlab.api import NetworkPolicy
from netlab.policy.model import FilterRules, PolicyInputs, PolicyPod, policy_from_api
from netlab.policy.render import render_policy
from netlab.proxy import ProxyConfig, render_rules

NAMESPACES = ("x", "y", "z")
PODS = ("a", "b", "c")
PORTS = tuple(
    (f"serve-{port}-{proto.lower()}", port, proto) for port in (80, 81) for proto in ("TCP", "UDP")
)


def model_pods() -> tuple[PolicyPod, ...]:
    # Pods alternate between the two nodes, so every case has same-node and cross-node pairs.
    pods = []
    for i, (ns, name) in enumerate((ns, name) for ns in NAMESPACES for name in PODS):
        node = ("node-a", "node-b")[i % 2]
        subnet = 1 if node == "node-a" else 2
        pods.append(PolicyPod(ns, name, {"pod": name}, f"10.244.{subnet}.{10 + i}", node, PORTS))
    return tuple(pods)


def dual_stack_pods() -> tuple[PolicyPod, ...]:
    """The same pods in a dual-stack lab: each also has its node's IPv6 address
    (10.244.1.10 → fd00:10:244:1::10)."""
    return tuple(replace(p, ips=(p.ip, "fd00:10:244:{}::{}".format(*p.ip.split(".")[2:]))) for p in model_pods())


def inputs(*policy_yaml: str, pods: tuple[PolicyPod, ...] | None = None) -> PolicyInputs:
    policies = []
    for text in policy_yaml:
        for doc in yaml.safe_load_all(textwrap.dedent(text)):
            policies.append(policy_from_api(NetworkPolicy.model_validate(doc)))
    namespaces = {ns: {"kubernetes.io/metadata.name": ns, "ns": ns} for ns in NAMESPACES}
    return PolicyInputs(pods=pods or model_pods(), namespaces=namespaces, policies=tuple(policies))


def policy(name: str, namespace: str, spec: str) -> str:
    return f"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: {name}, namespace: {namespace}}}\nspec:\n{textwrap.indent(textwrap.dedent(spec), '  ')}"


DENY_ALL_INGRESS_X = policy("deny-all-ingress", "x", "podSelector: {}\n")
ALLOW_FROM_Y_TO_XA = policy(
    "allow-from-y",
    "x",
    """
    podSelector: {matchLabels: {pod: a}}
    ingress:
    - from:
      - namespaceSelector: {matchLabels: {ns: y}}
    """,
)


# One peer with both selectors: pods b in namespace y only.
AND_PEER = policy(
    "allow-yb",
    "x",
    """
    podSelector: {matchLabels: {pod: a}}
    ingress:
    - from:
      - namespaceSelector: {matchLabels: {ns: y}}
        podSelector: {matchLabels: {pod: b}}
    """,
)


# Two peers: everything in y, or pods b of x.
OR_PEERS = policy(
    "allow-y-or-b",
    "x",
    """
    podSelector: {matchLabels: {pod: a}}
    ingress:
    - from:
      - namespaceSelector: {matchLabels: {ns: y}}
      - podSelector: {matchLabels: {pod: b}}
    """,
)


NAMED_PORT_81 = policy(
    "allow-81-by-name",
    "x",
    """
    podSelector: {matchLabels: {pod: a}}
    ingress:
    - ports: [{port: serve-81-tcp}]
    """,
)


END_PORT = policy(
    "allow-80-to-81",
    "x",
    """
    podSelector: {matchLabels: {pod: a}}
    ingress:
    - ports: [{port: 80, endPort: 81, protocol: TCP}]
      from: [{namespaceSelector: {}}]
    """,
)


GOLDEN_CASES = {
    "deny_all_ingress": (DENY_ALL_INGRESS_X,),
    "allow_from_namespace": (DENY_ALL_INGRESS_X, ALLOW_FROM_Y_TO_XA),
    "and_or_peers": (AND_PEER, OR_PEERS),
    "named_and_end_ports": (NAMED_PORT_81, END_PORT),
    "egress_dns_and_ip_block": (
        policy(
            "egress-dns-and-block",
            "x",
            """
            podSelector: {matchLabels: {pod: a}}
            policyTypes: [Egress]
            egress:
            - to:
              - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: y}}
                podSelector: {matchLabels: {pod: c}}
              ports: [{port: 53, protocol: UDP}, {port: 53, protocol: TCP}]
            - to: [{ipBlock: {cidr: 10.244.0.0/16, except: [10.244.2.0/24, 10.244.1.12/32]}}]
              ports: [{port: 81}]
            """,
        ),
    ),
}


# Egress to an IPv6 block and an IPv4 block: each family's chains get only their own block.
DUAL_STACK_IP_BLOCKS = policy(
    "egress-blocks-of-both-families",
    "x",
    """
    podSelector: {matchLabels: {pod: a}}
    policyTypes: [Egress]
    egress:
    - to: [{ipBlock: {cidr: "fd00:10:244::/56", except: ["fd00:10:244:2::/64"]}}]
      ports: [{port: 80}]
    - to: [{ipBlock: {cidr: 10.244.2.0/24}}]
      ports: [{port: 81}]
    - to: [{podSelector: {matchLabels: {pod: b}}}]
    """,
)

# tests/unit/golden/policy-v6/<case>.txt: the same cases over dual-stack pods, family 6.
V6_CASES = {**GOLDEN_CASES, "dual_stack_ip_blocks": (DUAL_STACK_IP_BLOCKS,)}


def render_v6(case: str, node: str = "node-a", family: int = 6) -> FilterRules:
    return render_policy(inputs(*V6_CASES[case], pods=dual_stack_pods()), node, family)


def payload_v6(case: str, node: str = "node-a") -> str:
    return render_rules([], ProxyConfig(cluster_cidr="fd00:10:244::/56", family=6), render_v6(case, node))


def render(case: str, node: str = "node-a") -> FilterRules:
    return render_policy(inputs(*GOLDEN_CASES[case]), node)


def payload(case: str, node: str = "node-a") -> str:
    return render_rules([], ProxyConfig(cluster_cidr="10.244.0.0/16"), render(case, node))
