"""The real `iptables-restore` accepts what netlab renders: kube-proxy's payloads (ClusterIP,
the external Service types, partial syncs) and NetworkPolicy's filter rules.

Each test loads rules into a throwaway network namespace (`unshare --net`), never the host's,
so it needs root but builds no lab. The inputs are the unit tests' cases (tests/cases), which
tests/unit checks as text without root.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from cases import policy as policy_cases
from cases import proxy_partial, proxy_render, proxy_service_types, proxy_v6
from netlab.policy.render import POLICY_CHAIN
from netlab.proxy import render_rules
from netlab.proxy.partial import plan_sync

pytestmark = pytest.mark.root


@pytest.fixture(autouse=True)
def _unshare_is_installed() -> None:
    # unshare (util-linux) is always there after scripts/setup.sh; without it, say so, don't skip.
    if shutil.which("unshare") is None:
        pytest.fail("`unshare` (util-linux) is not installed: these tests load rules in `unshare --net`; run scripts/setup.sh")


def _in_fresh_netns(script: str, payload: str) -> str:
    done = subprocess.run(
        ["unshare", "--net", "sh", "-c", script], input=payload, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


# --- kube-proxy's payload: ClusterIP Services (tests/cases/proxy_render.py) -------------------


@pytest.mark.parametrize("case", sorted(proxy_render.GOLDEN_CASES))
def test_real_iptables_restore_accepts_the_proxy_payload(case):
    _in_fresh_netns("iptables-restore --test", render_rules(proxy_render.GOLDEN_CASES[case], proxy_render.CONFIG))


def test_loaded_rules_read_back_as_on_a_real_node():
    payload = render_rules(proxy_render.several_services(), proxy_render.CONFIG)
    saved = _in_fresh_netns("iptables-restore && iptables-save", payload)
    # Every rule and chain we wrote is there, and nothing else.
    assert sorted(re.findall(r"^(-A \S+|:\S+)", saved, re.M)) == sorted(re.findall(r"^(-A \S+|:\S+)", payload, re.M))
    # iptables-save prints the canonical form a user knows from `iptables-save` on a kubeadm node.
    assert (
        '-A KUBE-SERVICES -d 10.96.0.10/32 -p udp -m comment --comment "kube-system/kube-dns:dns cluster IP"'
        " -m udp --dport 53 -j KUBE-SVC-TCOU7JCQXEZGVUNU"
    ) in saved
    assert "-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000" in saved
    assert "-j REJECT --reject-with icmp-port-unreachable" in saved


# --- kube-proxy's payload: NodePort, LoadBalancer, … (tests/cases/proxy_service_types.py) -----


@pytest.mark.parametrize("case", sorted(proxy_service_types.GOLDEN_CASES))
def test_real_iptables_restore_accepts_the_service_type_payload(case):
    ports, config = proxy_service_types.GOLDEN_CASES[case]
    _in_fresh_netns("iptables-restore --test", render_rules(ports, config))


# --- kube-proxy's partial sync (tests/cases/proxy_partial.py) ----------------------------------


def _save_after(*payloads: tuple[str, bool], tool: str = "iptables") -> str:
    script = []
    for i, (payload, noflush) in enumerate(payloads):
        script.append(f"{tool}-restore {'--noflush ' if noflush else ''}<<'EOF{i}'\n{payload}EOF{i}\n")
    script.append(f"{tool}-save")
    out = subprocess.run(["unshare", "--net", "sh", "-ec", "".join(script)], capture_output=True, text=True, check=True).stdout
    return "\n".join(sorted(line for line in out.splitlines() if not line.startswith("#")))


@pytest.mark.parametrize("family", (4, 6))
def test_a_partial_sync_leaves_the_same_rules_as_a_full_load(family):
    config = proxy_partial.CONFIG if family == 4 else proxy_v6.v6_config(proxy_partial.CONFIG)
    as_family = (lambda ports: ports) if family == 4 else (lambda ports: [proxy_v6.v6_port(p) for p in ports])
    before = render_rules(as_family(proxy_partial.service_ports(20)), config)
    after_ports = proxy_partial.service_ports(20, backends=3, extra=True)[5:]  # endpoints added, Services removed and added
    after = render_rules(as_family(after_ports), config)
    _, chains = plan_sync(before, None)
    plan, _ = plan_sync(after, chains)
    assert not plan.full
    tool = "ip6tables" if family == 6 else "iptables"
    assert _save_after((before, False), (plan.payload, True), tool=tool) == _save_after((after, False), tool=tool)


# --- NetworkPolicy's rules in the node payload (tests/cases/policy.py) --------------------------


@pytest.mark.parametrize(("family", "case"), [(4, c) for c in sorted(policy_cases.GOLDEN_CASES)] + [(6, c) for c in sorted(policy_cases.V6_CASES)])
def test_real_iptables_restore_accepts_the_policy_payload(family, case):
    tool = "ip6tables" if family == 6 else "iptables"
    payload, render = (policy_cases.payload_v6, policy_cases.render_v6) if family == 6 else (policy_cases.payload, policy_cases.render)
    for node in ("node-a", "node-b"):
        saved = _in_fresh_netns(f"{tool}-restore && {tool}-save -t filter", payload(case, node))
        if render(case, node).chains:
            assert saved.count(f'-A FORWARD -m comment --comment "kubernetes network policy" -j {POLICY_CHAIN}') == 1


# --- IPv6: kube-proxy's cases through ip6tables-restore (tests/cases/proxy_v6.py) ---------------


@pytest.mark.parametrize("case", sorted(proxy_v6.IPTABLES_CASES))
def test_real_ip6tables_restore_accepts_the_v6_proxy_payload(case):
    ports, config = proxy_v6.IPTABLES_CASES[case]
    _in_fresh_netns("ip6tables-restore --test", render_rules(ports, config))


def test_v6_rules_read_back_as_on_a_real_dual_stack_node():
    ports, config = proxy_v6.IPTABLES_CASES["no_endpoints"]
    saved = _in_fresh_netns("ip6tables-restore && ip6tables-save && echo IPV4 && iptables-save", render_rules(ports, config))
    assert "-A KUBE-SERVICES -d fd00:10:96::30/128 -p tcp" in saved
    assert "-j REJECT --reject-with icmp6-port-unreachable" in saved
    assert "-A KUBE-SERVICES ! -d ::1/128 -m comment" in saved
    assert "KUBE-SERVICES" not in saved.split("IPV4")[-1]  # IPv4's tables untouched

