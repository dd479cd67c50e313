"""The real `iptables-restore` accepts what netlab renders: kube-proxy's payloads (ClusterIP,
the external Service types, partial syncs) and NetworkPolicy's filter rules.

Each test loads rules into a throwaway network namespace (`unshare --net`), never the host's,
so it needs root but builds no lab. The inputs are copies of the unit tests' golden cases
(tests/unit/test_proxy_render.py, test_proxy_service_types.py, test_proxy_partial.py,
test_policy.py), which check the same payloads as text without root.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import textwrap

import pytest
import yaml

from netlab.api import NetworkPolicy
from netlab.policy.model import PolicyInputs, PolicyPod, policy_from_api
from netlab.policy.render import POLICY_CHAIN, render_policy
from netlab.proxy import Endpoint, FilterRules, ProxyConfig, ServicePortInfo, render_rules
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


# --- kube-proxy's payload: ClusterIP Services (cases of tests/unit/test_proxy_render.py) ---------

RENDER_CONFIG = ProxyConfig(cluster_cidr="10.244.0.0/16")


def render_web(*endpoints: Endpoint, name: str = "web", cluster_ip: str = "10.96.0.20") -> ServicePortInfo:
    return ServicePortInfo("default", name, "http", "TCP", cluster_ip, 80, tuple(endpoints))


def render_ep(ip: str, node: str, *, ready: bool = True, port: int = 8080, pod: str = "") -> Endpoint:
    return Endpoint(ip=ip, port=port, node=node, ready=ready, pod=pod)


def kube_dns() -> list[ServicePortInfo]:
    coredns = (render_ep("10.244.1.3", "node-a", port=53), render_ep("10.244.2.3", "node-b", port=53))
    metrics = (render_ep("10.244.1.3", "node-a", port=9153), render_ep("10.244.2.3", "node-b", port=9153))
    return [
        ServicePortInfo("kube-system", "kube-dns", "dns", "UDP", "10.96.0.10", 53, coredns),
        ServicePortInfo("kube-system", "kube-dns", "dns-tcp", "TCP", "10.96.0.10", 53, coredns),
        ServicePortInfo("kube-system", "kube-dns", "metrics", "TCP", "10.96.0.10", 9153, metrics),
    ]


RENDER_CASES = {
    "one_service_two_nodes": [render_web(render_ep("10.244.1.2", "node-a"), render_ep("10.244.2.2", "node-b"))],
    "no_endpoints": [ServicePortInfo("default", "lonely", "", "TCP", "10.96.0.30", 80, ())],
    "kube_dns_tcp_udp": kube_dns(),
    "three_endpoints": [
        render_web(render_ep("10.244.1.2", "node-a"), render_ep("10.244.1.5", "node-a"), render_ep("10.244.2.2", "node-b"))
    ],
    "not_ready_excluded": [
        render_web(
            render_ep("10.244.1.2", "node-a"), render_ep("10.244.1.5", "node-a", ready=False), render_ep("10.244.2.2", "node-b")
        ),
        render_web(render_ep("10.244.2.7", "node-b", ready=False), name="starting", cluster_ip="10.96.0.21"),
    ],
}


def several_services() -> list[ServicePortInfo]:
    """One lab's worth of distinct service ports: kube-dns, an empty one, a partly ready one."""
    return [*kube_dns(), *RENDER_CASES["no_endpoints"], *RENDER_CASES["not_ready_excluded"]]


@pytest.mark.parametrize("case", sorted(RENDER_CASES))
def test_real_iptables_restore_accepts_the_proxy_payload(case):
    _in_fresh_netns("iptables-restore --test", render_rules(RENDER_CASES[case], RENDER_CONFIG))


def test_loaded_rules_read_back_as_on_a_real_node():
    payload = render_rules(several_services(), RENDER_CONFIG)
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


# --- kube-proxy's payload: NodePort, LoadBalancer, … (cases of test_proxy_service_types.py) ------

NODE_A = ProxyConfig(cluster_cidr="10.244.0.0/16", node_name="node-a", node_ip="172.31.255.11")
NODE_B = ProxyConfig(cluster_cidr="10.244.0.0/16", node_name="node-b", node_ip="172.31.255.12")


def ep(ip: str, node: str, port: int = 8080) -> Endpoint:
    return Endpoint(ip=ip, port=port, node=node)


TWO = (ep("10.244.1.2", "node-a"), ep("10.244.2.2", "node-b"))
ONLY_A = (ep("10.244.1.2", "node-a"),)


def web(name: str = "web", endpoints=TWO, **fields) -> ServicePortInfo:
    return ServicePortInfo("default", name, "", "TCP", "10.96.0.20", 80, endpoints, **fields)


SERVICE_TYPE_CASES = {
    "nodeport_cluster_policy": ([web(node_port=30080)], NODE_A),
    "nodeport_no_endpoints": ([web(endpoints=(), node_port=30080)], NODE_A),
    "loadbalancer_source_ranges": (
        [web(node_port=31000, load_balancer_ips=("172.31.255.200",), load_balancer_source_ranges=("172.31.255.0/24", "203.0.113.0/25"))],
        NODE_A,
    ),
    "external_ip": ([web(external_ips=("172.31.255.100",))], NODE_A),
    "external_local_with_local_endpoint": (
        [web(node_port=30080, load_balancer_ips=("172.31.255.200",), external_traffic_policy="Local")],
        NODE_A,
    ),
    "external_local_without_local_endpoint": (
        [web(endpoints=ONLY_A, node_port=30080, load_balancer_ips=("172.31.255.200",), external_traffic_policy="Local")],
        NODE_B,
    ),
    "internal_local_without_local_endpoint": ([web(endpoints=ONLY_A, internal_traffic_policy="Local")], NODE_B),
    "session_affinity": ([web(session_affinity="ClientIP", sticky_max_age_seconds=60)], NODE_A),
}


@pytest.mark.parametrize("case", sorted(SERVICE_TYPE_CASES))
def test_real_iptables_restore_accepts_the_service_type_payload(case):
    ports, config = SERVICE_TYPE_CASES[case]
    done = subprocess.run(
        ["unshare", "--net", "iptables-restore", "--test"], input=render_rules(ports, config), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr


# --- kube-proxy's partial sync (cases of test_proxy_partial.py) ---------------------------------

PARTIAL_CONFIG = ProxyConfig("10.244.0.0/16")


def _ports(n: int, backends: int = 2, extra: bool = False) -> list[ServicePortInfo]:
    ports = [
        ServicePortInfo("default", f"svc{i}", "", "TCP", f"10.96.1.{i + 1}", 80,
                    tuple(Endpoint(f"10.244.{b + 1}.{i + 2}", 8080, f"node-{'ab'[b % 2]}") for b in range(backends)))
        for i in range(n)
    ]  # fmt: skip
    if extra:
        ports.append(ServicePortInfo("default", "late", "", "UDP", "10.96.2.1", 53, (Endpoint("10.244.1.99", 53, "node-a"),)))
    return ports


def _save_after(*payloads: tuple[str, bool]) -> str:
    script = []
    for i, (payload, noflush) in enumerate(payloads):
        script.append(f"iptables-restore {'--noflush ' if noflush else ''}<<'EOF{i}'\n{payload}EOF{i}\n")
    script.append("iptables-save")
    out = subprocess.run(["unshare", "--net", "sh", "-ec", "".join(script)], capture_output=True, text=True, check=True).stdout
    return "\n".join(sorted(line for line in out.splitlines() if not line.startswith("#")))


def test_a_partial_sync_leaves_the_same_rules_as_a_full_load():
    before = render_rules(_ports(20), PARTIAL_CONFIG)
    after_ports = _ports(20, backends=3, extra=True)[5:]  # endpoints added, Services removed and added
    after = render_rules(after_ports, PARTIAL_CONFIG)
    _, chains = plan_sync(before, None)
    plan, _ = plan_sync(after, chains)
    assert not plan.full
    assert _save_after((before, False), (plan.payload, True)) == _save_after((after, False))


# --- NetworkPolicy's rules in the node payload (cases of test_policy.py) -------------------------
# Upstream's e2e model: namespaces x, y, z with pods a, b, c each, serving 80 and 81 (TCP and UDP).

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

POLICY_CASES = {
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


def policy_render(case: str, node: str = "node-a") -> FilterRules:
    return render_policy(inputs(*POLICY_CASES[case]), node)


def policy_payload(case: str, node: str = "node-a") -> str:
    return render_rules([], ProxyConfig(cluster_cidr="10.244.0.0/16"), policy_render(case, node))


@pytest.mark.parametrize("case", sorted(POLICY_CASES))
def test_real_iptables_restore_accepts_the_policy_payload(case):
    for node in ("node-a", "node-b"):
        done = subprocess.run(
            ["unshare", "--net", "sh", "-c", "iptables-restore && iptables-save -t filter"],
            input=policy_payload(case, node), capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        if policy_render(case, node).chains:
            assert done.stdout.count(f'-A FORWARD -m comment --comment "kubernetes network policy" -j {POLICY_CHAIN}') == 1
