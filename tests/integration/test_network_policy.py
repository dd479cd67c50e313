"""Seed: network policies decide which pods may talk to which — upstream's e2e model.

Namespaces x, y, z with pods a, b, c each (manifests/network-policy/), every pod serving 80 and
81 over TCP and UDP. Each story applies policies, probes the whole 9×9 matrix with real
connections (`netlab policy matrix --expect`, probes in parallel) and removes the policies.
"""

from __future__ import annotations

import http.client
import socket
from pathlib import Path
from typing import Callable

import pytest

from netlab.kernel import ns

pytestmark = [pytest.mark.root, pytest.mark.every_kube_proxy_mode]

MANIFESTS = Path(__file__).resolve().parents[2] / "manifests" / "network-policy"
NAMESPACES = ("x", "y", "z")
PODS = tuple(f"{n}/{p}" for n in NAMESPACES for p in ("a", "b", "c"))


def policy(name: str, namespace: str, spec: str) -> str:
    body = "\n".join("  " + line for line in spec.strip("\n").splitlines())
    return (
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
        f"metadata: {{name: {name}, namespace: {namespace}}}\nspec:\n{body}\n"
    )


def truth_table(allowed: Callable[[str, str], bool]) -> str:
    """A table in `policy matrix` format; a pod always reaches itself."""
    lines = ["-  " + "  ".join(PODS)]
    for src in PODS:
        lines.append(src + "  " + "  ".join("." if src == dst or allowed(src, dst) else "X" for dst in PODS))
    return "\n".join(lines) + "\n"


class PolicyCli:
    """`netlab policy SUBCOMMAND --cluster NAME …` (the group takes the option after the subcommand)."""

    def __init__(self, lab, nl) -> None:
        self.lab, self._nl = lab, nl

    def __call__(self, command: str, *args: str, check: bool = True):
        return self._nl("policy", command, "--cluster", self.lab.name, *args, check=check)


@pytest.fixture(scope="module")
def model(lab, nl, wait_until):
    lab.nl("apply", "-f", str(MANIFESTS))
    for namespace in NAMESPACES:
        lab.wait_running("a", "b", "c", namespace=namespace, timeout=30)
    policy_cli = PolicyCli(lab, nl)
    # Every server listens before the first story: the open matrix, polled with a deadline.
    table = lab.write(truth_table(lambda s, d: True), "open")

    def all_open():
        return policy_cli("matrix", "--expect", str(table), check=False).returncode == 0

    wait_until(all_open, 30, 0.2, "every pod answering on port 80")
    lab.policy = policy_cli
    return lab


@pytest.fixture
def np(model):
    """The lab, with every NetworkPolicy it got during the test deleted afterwards."""
    yield model
    for item in model.get_json("netpol", "-A")["items"]:
        meta = item["metadata"]
        model.nl("delete", "netpol", meta["name"], "-n", meta["namespace"])


def expect(lab, allowed: Callable[[str, str], bool], *options: str) -> None:
    table = lab.write(truth_table(allowed), "expected")
    result = lab.policy("matrix", "--expect", str(table), *options, check=False)
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"


def curl_exit(lab, pod: str, url: str) -> int:
    namespace, name = pod.split("/")
    return lab.exec(name, "curl", "-sS", "-o", "/dev/null", "-m", "2", url, namespace=namespace, check=False).returncode


CURL_TIMEOUT = 28
CURL_OK = 0


# --- stories ------------------------------------------------------------------------------------


def test_without_policies_every_pod_reaches_every_pod_on_both_protocols(np):
    expect(np, lambda s, d: True, "--protocol", "udp", "--port", "81")


def test_deny_all_ingress_cuts_namespace_x_off_and_denied_tcp_times_out(np):
    np.nl("apply", "-f", str(MANIFESTS / "policies" / "deny-all-ingress.yaml"))

    expect(np, lambda s, d: not d.startswith("x/"))
    # Dropped, not rejected: a denied connection times out (curl exit 28), never "refused".
    assert curl_exit(np, "y/a", f"http://{np.pod_ip('b', 'x')}/") == CURL_TIMEOUT
    # The pod's own node still reaches it (kubelet probes); the other node does not.
    home = np.pod("b", "x")["spec"]["nodeName"]
    other = next(n for n in ("node-a", "node-b") if n != home)
    node_curl = ("curl", "-sS", "-o", "/dev/null", "-m", "2", f"http://{np.pod_ip('b', 'x')}/")
    assert np.in_netns(np.node_netns(home), *node_curl, check=False).returncode == CURL_OK
    assert np.in_netns(np.node_netns(other), *node_curl, check=False).returncode == CURL_TIMEOUT


def test_deny_all_egress_blocks_what_leaves_x_and_dns_works_once_allowed(np):
    np.nl("apply", "-f", str(MANIFESTS / "policies" / "deny-all-egress.yaml"))
    expect(np, lambda s, d: not s.startswith("x/"))
    lookup = ("dig", "+short", "+time=1", "+tries=1", "s-b.y.svc.cluster.local")
    assert np.exec("a", *lookup, namespace="x", check=False).returncode != 0

    np.nl("apply", "-f", str(MANIFESTS / "policies" / "allow-dns-egress.yaml"))

    service_ip = np.cluster_ip("s-b", "y")
    assert np.exec("a", *lookup, namespace="x").stdout.strip() == service_ip
    assert np.exec("a", *lookup, "+tcp", namespace="x").stdout.strip() == service_ip
    expect(np, lambda s, d: not s.startswith("x/"))  # DNS only: everything else still blocked


def test_allow_from_a_namespace_adds_to_deny_all(np):
    np.nl("apply", "-f", str(MANIFESTS / "policies" / "deny-all-ingress.yaml"))
    np.nl("apply", "-f", str(MANIFESTS / "policies" / "allow-from-namespace-y.yaml"))

    expect(np, lambda s, d: not d.startswith("x/") or (d == "x/a" and s.startswith("y/")))


def test_pod_and_namespace_selectors_in_one_peer_are_an_and(np):
    np.nl("apply", "-f", str(MANIFESTS / "policies" / "allow-yb-and-vs-or.yaml"))

    expect(np, lambda s, d: d != "x/b" or s == "y/b")


def test_pod_and_namespace_selectors_in_two_peers_are_an_or(np):
    np.apply(
        policy(
            "allow-y-or-b",
            "x",
            """
podSelector: {matchLabels: {pod: b}}
ingress:
- from:
  - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: y}}
  - podSelector: {matchLabels: {pod: b}}
""",
        )
    )

    expect(np, lambda s, d: d != "x/b" or s.startswith("y/") or s.endswith("/b") and s.startswith("x/"))


def test_named_ports_resolve_on_the_pod_and_end_port_opens_a_range(np):
    np.nl("apply", "-f", str(MANIFESTS / "policies" / "allow-named-port-and-range.yaml"))

    expect(np, lambda s, d: d != "x/c", "--port", "80")
    expect(np, lambda s, d: True, "--port", "81")
    expect(np, lambda s, d: True, "--port", "80", "--protocol", "udp")
    expect(np, lambda s, d: True, "--port", "81", "--protocol", "udp")


def test_ip_block_with_except_admits_the_block_but_not_the_hole(np):
    hole = np.pod_ip("b", "y")
    np.apply(
        policy(
            "from-pods-but-yb",
            "x",
            f"""
podSelector: {{matchLabels: {{pod: a}}}}
ingress:
- from: [{{ipBlock: {{cidr: "{np.ranges.pod}", except: ["{hole}/32"]}}}}]
""",
        )
    )

    expect(np, lambda s, d: d != "x/a" or s != "y/b")


def test_egress_to_a_service_is_judged_against_the_backend_pod(np):
    np.apply(
        policy(
            "only-to-yb",
            "x",
            """
podSelector: {matchLabels: {pod: a}}
policyTypes: [Egress]
egress:
- to:
  - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: y}}
    podSelector: {matchLabels: {pod: b}}
  ports: [{port: 80}]
""",
        )
    )

    # The cluster IP is nowhere in the policy: what counts is the pod the Service picked.
    assert curl_exit(np, "x/a", f"http://{np.cluster_ip('s-b', 'y')}/hostname") == CURL_OK
    assert curl_exit(np, "x/a", f"http://{np.cluster_ip('s-c', 'y')}/hostname") == CURL_TIMEOUT
    assert curl_exit(np, "x/a", f"http://{np.cluster_ip('s-b', 'y')}:81/hostname") == CURL_TIMEOUT


def test_ingress_through_a_service_is_judged_against_the_backend_pod(np):
    np.nl("apply", "-f", str(MANIFESTS / "policies" / "deny-all-ingress.yaml"))

    assert curl_exit(np, "y/a", f"http://{np.cluster_ip('s-a', 'x')}/hostname") == CURL_TIMEOUT
    assert curl_exit(np, "x/b", f"http://{np.cluster_ip('s-a', 'y')}/hostname") == CURL_OK


def _open_http(lab, src: str, dst_ip: str) -> http.client.HTTPConnection:
    """An HTTP/1.1 keep-alive connection whose socket lives in pod `src`'s network namespace."""
    namespace, name = src.split("/")
    with ns.entered(ns.netns_path(lab.pod_netns(name, namespace))):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(3)
    sock.connect((dst_ip, 80))
    conn = http.client.HTTPConnection(dst_ip, 80, timeout=3)
    conn.sock = sock
    return conn


def _get(conn: http.client.HTTPConnection) -> str:
    conn.request("GET", "/hostname")
    return conn.getresponse().read().decode()


def test_policy_changes_apply_at_once_and_keep_established_connections(np):
    target = np.pod_ip("b", "x")
    kept = _open_http(np, "x/a", target)
    assert _get(kept) == "b"
    assert curl_exit(np, "x/c", f"http://{target}/") == CURL_OK

    np.apply(
        policy(
            "only-a-to-b",
            "x",
            """
podSelector: {matchLabels: {pod: b}}
ingress: [{from: [{podSelector: {matchLabels: {pod: a}}}]}]
""",
        )
    )

    # Enforced when apply returns (no waiting), and the allowed connection carries on.
    assert curl_exit(np, "x/c", f"http://{target}/") == CURL_TIMEOUT
    assert _get(kept) == "b"
    assert curl_exit(np, "x/a", f"http://{target}/") == CURL_OK

    np.nl("delete", "netpol", "only-a-to-b", "-n", "x")

    assert curl_exit(np, "x/c", f"http://{target}/") == CURL_OK
    assert _get(kept) == "b"
    kept.close()


def test_get_describe_and_explain_tell_the_same_story(np):
    np.nl("apply", "-f", str(MANIFESTS / "policies" / "deny-all-ingress.yaml"))
    np.nl("apply", "-f", str(MANIFESTS / "policies" / "allow-from-namespace-y.yaml"))

    table = np.nl("get", "netpol", "-n", "x").stdout.splitlines()
    assert table[0].split() == ["NAME", "POD-SELECTOR", "AGE"]
    assert [row.split()[:2] for row in table[1:]] == [["allow-from-namespace-y", "pod=a"], ["deny-all-ingress", "<none>"]]
    described = np.nl("describe", "netpol", "allow-from-namespace-y", "-n", "x").stdout
    assert "Selects:         a (1 of 3 running pods in namespace x)" in described
    assert "= now: y/a, y/b, y/c" in described or "= now: y/" in described
    denied = np.policy("explain", "z/b", "x/a:80").stdout
    assert "Ingress of x/a: DENIED" in denied and denied.rstrip().endswith("Verdict: DENIED")
    allowed = np.policy("explain", "y/c", "x/a:serve-80-tcp").stdout
    assert allowed.rstrip().endswith("Verdict: ALLOWED")
    assert np.get_json("netpol", "deny-all-ingress", "-n", "x")["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
