"""NetworkPolicy in a dual-stack lab: a policy selects pods, so it holds in both families; each
family's chains use the pods' addresses of that family, and an ipBlock only its own family's.

Regenerate the golden files after an intended change with
    NETLAB_UPDATE_GOLDEN=1 pytest tests/unit/test_policy_v6.py
"""

from __future__ import annotations

import re

import pytest

from netlab.policy.render import render_policy

from cases.golden import GOLDEN, check
from cases.policy import DENY_ALL_INGRESS_X, V6_CASES, dual_stack_pods, inputs, render, render_v6

@pytest.mark.parametrize("case", sorted(V6_CASES))
def test_v6_rules_match_golden_file(case):
    rules = render_v6(case)
    text = "\n".join((*rules.chains, "", *rules.forward_jumps, "", *rules.rules)) + "\n"
    check(GOLDEN / "policy-v6" / f"{case}.txt", text)


def test_a_policy_isolates_the_same_pods_in_both_families():
    for case in ("deny_all_ingress", "allow_from_namespace", "and_or_peers"):
        v4, v6 = render_v6(case, family=4), render_v6(case, family=6)
        assert v4.chains == v6.chains  # chain names hash the pod, not its address
        assert len(v4.rules) == len(v6.rules)
        assert not any(":" in r.split("--comment")[0] for r in v4.rules)


def test_v4_rules_of_dual_stack_pods_are_the_single_stack_rules():
    for case in ("deny_all_ingress", "named_and_end_ports", "egress_dns_and_ip_block"):
        assert render_v6(case, family=4) == render(case)


def test_ip_blocks_go_only_to_their_own_family():
    v6 = "\n".join(render_v6("dual_stack_ip_blocks", family=6).rules)
    v4 = "\n".join(render_v6("dual_stack_ip_blocks", family=4).rules)
    assert "-d fd00:10:244::/63 -p tcp -m tcp --dport 80" in v6 and "-d fd00:10:244:2::/64" not in v6
    assert "10.244.2.0/24" not in v6 and "--dport 81" not in v6
    assert "-d 10.244.2.0/24 -p tcp -m tcp --dport 81" in v4 and "fd00" not in v4 and "--dport 80 " not in v4 + " "
    # The pod selector peer holds in both, with each family's address of pods b.
    assert "-d fd00:10:244:2::11 -j RETURN" in v6 and "-d 10.244.2.11 -j RETURN" in v4


def test_single_stack_pods_get_no_v6_chains():
    state = inputs(DENY_ALL_INGRESS_X)  # pods with IPv4 only
    assert render_policy(state, "node-a", 6).chains == ()


def test_egress_named_ports_resolve_to_the_families_address():
    rules = render_v6("named_and_end_ports")
    assert all(not re.search(r"-[sd] 10\.", r) for r in rules.rules)
    assert any(p.ip_for(6) in r for p in dual_stack_pods() for r in rules.rules)


def test_explain_says_an_ipv6_block_allows_ipv6_only():
    from netlab.policy.explain import explain

    state = inputs(*V6_CASES["dual_stack_ip_blocks"], pods=dual_stack_pods())
    xa, yb = state.pod("x/a"), state.pod("y/b")  # egress of x/a to a pod outside its namespace
    assert explain(state, xa, yb, 80, "TCP", 6).allowed  # fd00:10:244::/56 (except :2::/64: y/b is on node-a)
    assert not explain(state, xa, yb, 80, "TCP", 4).allowed  # no IPv4 block covers port 80
    assert explain(state, xa, yb, 80, "TCP").family == 4  # default: the pod's primary family
