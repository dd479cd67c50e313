"""NetworkPolicy semantics and rules, over upstream's e2e model: namespaces x, y, z with pods
a, b, c each, every pod serving 80 and 81 (TCP and UDP, ports named serve-80-tcp, …).

The truth tables read like upstream's reachability printout: rows are sources, columns
destinations, `.` connected and `X` blocked.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from netlab.errors import InvalidInput
from netlab.policy.describe import describe_lines
from netlab.policy.explain import explain, explanation_lines
from netlab.policy.matrix import Matrix, differences, parse
from netlab.policy.model import PolicyInputs, PolicyPod
from netlab.policy.render import POLICY_CHAIN, pod_chain, render_policy
from netlab.proxy import FilterRules, ProxyConfig, render_rules

from cases.golden import check
from cases.policy import (
    ALLOW_FROM_Y_TO_XA,
    AND_PEER,
    DENY_ALL_INGRESS_X,
    END_PORT,
    GOLDEN_CASES,
    NAMED_PORT_81,
    OR_PEERS,
    inputs,
    model_pods,
    payload,
    policy,
    render,
)

GOLDEN_DIR = Path(__file__).parent / "golden" / "policy"


def reachability(state: PolicyInputs, port: int = 80, protocol: str = "TCP") -> str:
    keys = [p.key for p in state.pods]
    lines = ["-\t" + "\t".join(keys)]
    for src in state.pods:
        cells = ["." if explain(state, src, dst, port, protocol).allowed else "X" for dst in state.pods]
        lines.append(src.key + "\t" + "\t".join(cells))
    return "\n".join(lines)


def table(text: str) -> str:
    """A truth table written with spaces, normalised to the tab-separated printout."""
    return "\n".join("\t".join(line.split()) for line in textwrap.dedent(text).strip().splitlines())


ALL_OPEN = """
    -   x/a x/b x/c y/a y/b y/c z/a z/b z/c
    x/a .   .   .   .   .   .   .   .   .
    x/b .   .   .   .   .   .   .   .   .
    x/c .   .   .   .   .   .   .   .   .
    y/a .   .   .   .   .   .   .   .   .
    y/b .   .   .   .   .   .   .   .   .
    y/c .   .   .   .   .   .   .   .   .
    z/a .   .   .   .   .   .   .   .   .
    z/b .   .   .   .   .   .   .   .   .
    z/c .   .   .   .   .   .   .   .   .
"""


DENY_ALL_EGRESS_X = policy("deny-all-egress", "x", "podSelector: {}\npolicyTypes: [Egress]\n")


def ip(key: str) -> str:
    return next(p.ip for p in model_pods() if p.key == key)


# --- semantics ---------------------------------------------------------------------------------


def test_without_policies_everything_is_reachable():
    assert reachability(inputs()) == table(ALL_OPEN)


def test_deny_all_ingress_isolates_every_pod_of_the_namespace_but_not_from_itself():
    assert reachability(inputs(DENY_ALL_INGRESS_X)) == table(
        """
        -   x/a x/b x/c y/a y/b y/c z/a z/b z/c
        x/a .   X   X   .   .   .   .   .   .
        x/b X   .   X   .   .   .   .   .   .
        x/c X   X   .   .   .   .   .   .   .
        y/a X   X   X   .   .   .   .   .   .
        y/b X   X   X   .   .   .   .   .   .
        y/c X   X   X   .   .   .   .   .   .
        z/a X   X   X   .   .   .   .   .   .
        z/b X   X   X   .   .   .   .   .   .
        z/c X   X   X   .   .   .   .   .   .
        """
    )


def test_deny_all_egress_blocks_what_leaves_the_namespace():
    assert reachability(inputs(DENY_ALL_EGRESS_X)) == table(
        """
        -   x/a x/b x/c y/a y/b y/c z/a z/b z/c
        x/a .   X   X   X   X   X   X   X   X
        x/b X   .   X   X   X   X   X   X   X
        x/c X   X   .   X   X   X   X   X   X
        y/a .   .   .   .   .   .   .   .   .
        y/b .   .   .   .   .   .   .   .   .
        y/c .   .   .   .   .   .   .   .   .
        z/a .   .   .   .   .   .   .   .   .
        z/b .   .   .   .   .   .   .   .   .
        z/c .   .   .   .   .   .   .   .   .
        """
    )


def test_allow_from_a_namespace_is_a_union_with_deny_all():
    state = inputs(DENY_ALL_INGRESS_X, ALLOW_FROM_Y_TO_XA)
    column = [explain(state, src, state.pod("x/a"), 80, "TCP").allowed for src in state.pods]
    assert column == [True, False, False, True, True, True, False, False, False]


def test_pod_and_namespace_selector_in_one_peer_is_an_and():
    state = inputs(AND_PEER)
    allowed = {src.key for src in state.pods if explain(state, src, state.pod("x/a"), 80, "TCP").allowed}
    assert allowed == {"x/a", "y/b"}


def test_two_peers_are_an_or():
    state = inputs(OR_PEERS)
    allowed = {src.key for src in state.pods if explain(state, src, state.pod("x/a"), 80, "TCP").allowed}
    assert allowed == {"x/a", "x/b", "y/a", "y/b", "y/c"}


def test_a_named_port_is_resolved_on_the_destination_pod():
    state = inputs(NAMED_PORT_81)
    assert explain(state, state.pod("y/b"), state.pod("x/a"), 81, "TCP").allowed
    assert not explain(state, state.pod("y/b"), state.pod("x/a"), 80, "TCP").allowed
    assert not explain(state, state.pod("y/b"), state.pod("x/a"), 81, "UDP").allowed


def test_a_named_port_the_pod_does_not_declare_allows_nothing():
    pods = tuple(p if p.key != "x/a" else PolicyPod("x", "a", {"pod": "a"}, p.ip, p.node, ()) for p in model_pods())
    state = inputs(NAMED_PORT_81, pods=pods)
    result = explain(state, state.pod("y/b"), state.pod("x/a"), 81, "TCP")
    assert not result.allowed
    assert "declares no port named serve-81-tcp" in result.ingress.rules[0].reason


def test_end_port_allows_the_whole_range():
    state = inputs(END_PORT)
    src, dst = state.pod("z/c"), state.pod("x/a")
    assert [explain(state, src, dst, port, "TCP").allowed for port in (79, 80, 81, 82)] == [False, True, True, False]


def test_ip_block_except_carves_a_hole():
    block = policy(
        "allow-node-a-but-one",
        "x",
        f"""
        podSelector: {{matchLabels: {{pod: a}}}}
        ingress:
        - from: [{{ipBlock: {{cidr: 10.244.1.0/24, except: ["{ip('y/b')}/32"]}}}}]
        """,
    )
    state = inputs(block)
    allowed = {src.key for src in state.pods if explain(state, src, state.pod("x/a"), 80, "TCP").allowed}
    on_node_a = {p.key for p in state.pods if p.node == "node-a"}
    assert "y/b" in on_node_a
    assert allowed == (on_node_a - {"y/b"}) | {"x/a"}


def test_policy_types_egress_only_ignores_the_ingress_section():
    only_egress = policy(
        "egress-only",
        "x",
        """
        podSelector: {}
        policyTypes: [Egress]
        ingress: [{from: [{podSelector: {matchLabels: {pod: nobody}}}]}]
        egress: [{}]
        """,
    )
    assert reachability(inputs(only_egress)) == table(ALL_OPEN)


def test_egress_named_port_resolves_per_destination_pod():
    # Only z/c calls port 8080 "dns": egress on the name reaches z/c only, on 8080.
    pods = tuple(
        PolicyPod(p.namespace, p.name, p.labels, p.ip, p.node, p.ports + ((("dns", 8080, "UDP"),) if p.key == "z/c" else ()))
        for p in model_pods()
    )
    dns = policy(
        "egress-dns-by-name",
        "x",
        """
        podSelector: {}
        egress: [{ports: [{port: dns, protocol: UDP}]}]
        """,
    )
    state = inputs(dns, pods=pods)
    assert explain(state, state.pod("x/a"), state.pod("z/c"), 8080, "UDP").allowed
    assert not explain(state, state.pod("x/a"), state.pod("z/b"), 8080, "UDP").allowed
    chains = render_policy(state, "node-a")
    egress_chain = pod_chain(state.pod("x/a"), "egress")
    allowing = [r for r in chains.rules if r.startswith(f"-A {egress_chain}") and "egress[0]" in r]
    assert allowing == [
        f'-A {egress_chain} -m comment --comment "x/egress-dns-by-name egress[0]" -d {ip("z/c")} -p udp -m udp --dport 8080 -j RETURN'
    ]


def test_explain_says_which_policy_isolates_and_why_nothing_allows():
    state = inputs(DENY_ALL_INGRESS_X, ALLOW_FROM_Y_TO_XA)
    text = "\n".join(explanation_lines(explain(state, state.pod("z/b"), state.pod("x/a"), 80, "TCP")))
    assert "Egress of z/b: allowed" in text
    assert "no policy selecting z/b has policyType Egress: not isolated" in text
    assert "Ingress of x/a: DENIED" in text
    assert "isolated by: x/allow-from-y, x/deny-all-ingress" in text
    assert "x/allow-from-y ingress[0]: no match: z/b is not from namespaces ns=y" in text
    assert text.endswith("Verdict: DENIED")
    allowed = "\n".join(explanation_lines(explain(state, state.pod("y/c"), state.pod("x/a"), 80, "TCP")))
    assert "x/allow-from-y ingress[0]: allows from namespaces ns=y, any port" in allowed
    assert allowed.endswith("Verdict: ALLOWED")


# --- rendering -----------------------------------------------------------------------------------


@pytest.mark.parametrize("case", sorted(GOLDEN_CASES))
def test_rules_match_golden_file(case):
    text = "\n".join((*render(case).chains, "", *render(case).forward_jumps, "", *render(case).rules)) + "\n"
    check(GOLDEN_DIR / f"{case}.txt", text)


def test_no_policy_leaves_the_node_payload_as_kube_proxy_alone_writes_it():
    assert render_policy(inputs(), "node-a") == FilterRules()
    config = ProxyConfig(cluster_cidr="10.244.0.0/16")
    assert render_rules([], config, render_policy(inputs(), "node-a")) == render_rules([], config)


def test_the_policy_jump_is_the_first_rule_of_forward():
    forward = [line for line in payload("deny_all_ingress").splitlines() if line.startswith("-A FORWARD")]
    assert forward[0] == f'-A FORWARD -m comment --comment "kubernetes network policy" -j {POLICY_CHAIN}'
    assert "KUBE-FORWARD" in forward[2]


def test_each_node_gets_chains_only_for_its_own_pods():
    state = inputs(DENY_ALL_INGRESS_X)
    for node in ("node-a", "node-b"):
        rules = render_policy(state, node)
        local = {p.key for p in state.pods if p.node == node and p.namespace == "x"}
        assert set(rules.chains) == {POLICY_CHAIN} | {pod_chain(state.pod(k), "ingress") for k in local}


def test_every_isolated_chain_ends_in_drop_and_replies_pass_first():
    rules = render("allow_from_namespace").rules
    assert rules[0].endswith("-m conntrack --ctstate RELATED,ESTABLISHED -j RETURN")
    for chain in render("allow_from_namespace").chains[1:]:
        assert [r for r in rules if r.startswith(f"-A {chain} ")][-1].endswith("-j DROP")


def test_ip_block_except_becomes_the_networks_left_over():
    rules = render("egress_dns_and_ip_block").rules
    blocks = re.findall(r"-d (\S+) -p tcp -m tcp --dport 81", "\n".join(rules))
    assert "10.244.2.0/24" not in blocks and "10.244.1.12/32" not in blocks
    assert {"10.244.0.0/24", "10.244.1.8/30", "10.244.1.13/32", "10.244.3.0/24", "10.244.128.0/17"} <= set(blocks)


def test_rendering_does_not_depend_on_input_order():
    state = inputs(*GOLDEN_CASES["allow_from_namespace"])
    shuffled = PolicyInputs(tuple(reversed(state.pods)), state.namespaces, tuple(reversed(state.policies)))
    assert render_policy(shuffled, "node-a") == render_policy(state, "node-a")


# --- the matrix table and describe ----------------------------------------------------------------


def test_a_printed_matrix_reads_back_in_either_symbol_set():
    printed = Matrix(("x/a", "x/b"), {("x/a", "x/a"): True, ("x/a", "x/b"): False, ("x/b", "x/a"): True, ("x/b", "x/b"): True})
    assert parse("\n".join(printed.lines()), "t") == printed
    assert parse("\n".join(printed.lines("✓", "✗")), "t") == printed
    assert printed.lines() == ["-   x/a x/b", "x/a .   X", "x/b .   ."]


def test_a_bad_truth_table_names_its_lines():
    with pytest.raises(InvalidInput) as info:
        parse("-  x/a x/b\nx/a . ?\nx/c . .\n", "want.txt")
    assert info.value.problems == [
        "want.txt: line 2: '?' is neither connected (. ✓) nor blocked (X ✗)",
        "want.txt: line 3: x/c is not one of the columns (x/a x/b)",
    ]


def test_differences_name_each_cell_and_missing_pods():
    want = Matrix(("x/a", "x/b"), {("x/a", "x/a"): True, ("x/a", "x/b"): False, ("x/b", "x/a"): True, ("x/b", "x/b"): True})
    got = Matrix(("x/a", "x/b"), {**want.cells, ("x/a", "x/b"): True})
    assert differences(want, got) == ["x/a -> x/b: expected blocked, got connected"]
    assert differences(want, Matrix(("x/a",), {("x/a", "x/a"): True})) == [
        "x/b: expected in the table, but it is not a running pod here"
    ]


def test_describe_says_which_pods_a_policy_and_its_peers_mean_now():
    state = inputs(AND_PEER)
    lines = describe_lines(state.policies[0], state)
    assert lines == [
        "Spec:",
        "  PodSelector:     pod=a",
        "  Selects:         a (1 of 3 running pods in namespace x)",
        "  Allowing ingress traffic:",
        "    To Port: <any> (traffic allowed to all ports)",
        "    From:",
        "      NamespaceSelector: ns=y",
        "      PodSelector: pod=b",
        "        = now: y/b",
        "  Not affecting egress traffic",
        "  Policy Types: Ingress",
    ]
