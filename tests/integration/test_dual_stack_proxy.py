"""Dual-stack Services and NetworkPolicy, in both kube-proxy modes: one lab with IPv4 and IPv6,
every story told over each family. kube-proxy runs one proxier per family (ip6tables and
`ip6 kube-proxy` for IPv6), so a RequireDualStack Service answers on both of its cluster IPs,
its NodePort on both node addresses and its LoadBalancer addresses; a policy holds in both
families, and an ipBlock only in its own.

Probes go from pods inside the lab to the lab's own addresses (pods, Services, nodes' underlay,
the load-balancer pool), never elsewhere.
"""

from __future__ import annotations

import json

import pytest
import yaml

from cases.udp_client import SCRIPT as UDP_CLIENT
from conftest import nl

pytestmark = [pytest.mark.root, pytest.mark.every_kube_proxy_mode]

FAMILIES = (4, 6)
AGNHOST = "registry.k8s.io/e2e-test-images/agnhost:2.47"


def _web(name: str, node: str) -> dict:
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "web"}},
        "spec": {"nodeName": node, "containers": [{"name": "web", "image": "nginx", "ports": [{"containerPort": 8080}]}]},
    }  # fmt: skip


def _client(name: str, node: str, labels: dict | None = None) -> dict:
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": labels or {"role": "client"}},
        "spec": {"nodeName": node, "containers": [{"name": "c", "image": "busybox", "command": ["sleep", "infinity"]}]},
    }  # fmt: skip


def _service(name: str, type_: str = "ClusterIP", selector: str = "web", **spec) -> dict:
    return {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
        "spec": {
            "type": type_, "selector": {"app": selector}, "ipFamilyPolicy": "RequireDualStack",
            "ports": [{"port": 80, "targetPort": 8080}], **spec,
        },
    }  # fmt: skip


MANIFEST = [
    _web("web-a", "node-a"),
    _web("web-b", "node-b"),
    _client("client", "node-a"),
    _client("stranger", "node-b", {"role": "stranger"}),
    _service("web"),
    _service("web-np", "NodePort"),
    _service("web-lb", "LoadBalancer"),
    _service("nobody", selector="nothing"),
]


@pytest.fixture(scope="module")
def dual(dual_lab):
    dual_lab.apply(yaml.safe_dump_all(MANIFEST))
    dual_lab.wait_running("web-a", "web-b", "client", "stranger", timeout=30)
    return dual_lab


def _of(addresses, family: int) -> str:
    return next(a for a in addresses if (":" in a) == (family == 6))


def _url(address: str, port: int = 80) -> str:
    return f"http://[{address}]:{port}/" if ":" in address else f"http://{address}:{port}/"


def _get(lab, pod: str, address: str, port: int = 80, timeout: float = 3) -> dict[str, str] | None:
    """The built-in web server's answer as a dict; None when the connection failed."""
    done = lab.exec(pod, "curl", "-sS", "-g", "-m", str(timeout), _url(address, port), check=False)
    if done.returncode != 0:
        return None
    return dict(word.split("=", 1) for word in done.stdout.split() if "=" in word)


def _svc(lab, name: str) -> dict:
    return lab.get_json("svc", name)


def _node_ip(lab, node: str, family: int) -> str:
    """The node's underlay address: .11/.12 in IPv4, ::11/::12 in IPv6 (netlab's plan)."""
    underlay = lab.ranges.underlay if family == 4 else lab.ranges.underlay6
    offset = 11 + "ab".index(node[-1])
    return str(underlay.network_address + (offset if family == 4 else int(str(offset), 16)))


def _pod_ip(lab, pod: str, family: int) -> str:
    return lab.pod_ips(pod)[family]


@pytest.mark.parametrize("family", FAMILIES)
def test_a_dual_stack_service_answers_on_its_cluster_ip_of_each_family(dual, family, wait_until):
    spec = _svc(dual, "web")["spec"]
    assert spec["ipFamilies"] == ["IPv4", "IPv6"] and len(spec["clusterIPs"]) == 2
    address = _of(spec["clusterIPs"], family)
    answer = wait_until(lambda: _get(dual, "client", address), 15, 0.2, f"web over IPv{family}")
    assert answer["pod"] in ("web-a", "web-b")
    # The endpoint saw the client's own address of that family (no SNAT for pod traffic).
    assert answer["client"].rsplit(":", 1)[0].strip("[]") == _pod_ip(dual, "client", family)


@pytest.mark.parametrize("family", FAMILIES)
def test_nodeport_answers_on_each_nodes_address_of_the_family(dual, family, wait_until):
    node_port = _svc(dual, "web-np")["spec"]["ports"][0]["nodePort"]
    for node in ("node-a", "node-b"):
        address = _node_ip(dual, node, family)
        answer = wait_until(lambda: _get(dual, "client", address, node_port), 15, 0.2, f"NodePort on {address}")
        assert answer["pod"] in ("web-a", "web-b")


@pytest.mark.parametrize("family", FAMILIES)
def test_loadbalancer_address_of_each_family_reaches_the_pods(dual, family, wait_until):
    def ingress():
        return [i["ip"] for i in _svc(dual, "web-lb")["status"].get("loadBalancer", {}).get("ingress", [])]

    addresses = wait_until(lambda: len(ingress()) == 2 and ingress(), 15, 0.2, "an LB address per family")
    answer = wait_until(lambda: _get(dual, "stranger", _of(addresses, family)), 15, 0.2, f"LB over IPv{family}")
    assert answer["pod"] in ("web-a", "web-b")


@pytest.mark.parametrize("family", FAMILIES)
def test_a_service_without_endpoints_is_refused_at_once_in_each_family(dual, family):
    address = dual.cluster_ips("nobody")[family]
    done = dual.exec("client", "curl", "-sS", "-g", "-m", "3", _url(address), check=False)
    assert done.returncode == 7, done.stderr  # "Couldn't connect": REJECT (icmp6-port-unreachable in IPv6)


def test_each_family_has_its_own_rules_in_each_node(dual):
    v6 = dual.cluster_ips("web")[6]
    v4 = dual.cluster_ips("web")[4]
    node = dual.node_netns("node-a")
    if dual.kube_proxy_mode == "nftables":
        ip4 = dual.in_netns(node, "nft", "list", "table", "ip", "kube-proxy").stdout
        ip6 = dual.in_netns(node, "nft", "list", "table", "ip6", "kube-proxy").stdout
        assert f"{v6} . tcp . 80 : goto service-" in ip6 and v6 not in ip4
        assert f"{v4} . tcp . 80 : goto service-" in ip4 and v4 not in ip6
    else:
        ip4 = dual.in_netns(node, "iptables-save", "-t", "nat").stdout
        ip6 = dual.in_netns(node, "ip6tables-save", "-t", "nat").stdout
        assert f"-A KUBE-SERVICES -d {v6}/128 -p tcp" in ip6 and v6 not in ip4
        assert f"-A KUBE-SERVICES -d {v4}/32 -p tcp" in ip4
        assert "! -d ::1/128" in ip6


# -- NetworkPolicy: one policy, both families ----------------------------------------------------

ONLY_CLIENTS = {
    "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
    "metadata": {"name": "web-only-from-clients"},
    "spec": {"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [{"from": [{"podSelector": {"matchLabels": {"role": "client"}}}]}]},
}  # fmt: skip


@pytest.fixture
def policy(dual):
    yield dual
    for item in dual.get_json("netpol")["items"]:
        dual.nl("delete", "netpol", item["metadata"]["name"])


def _matrix(lab, family: int) -> dict[tuple[str, str], bool]:
    out = nl("policy", "matrix", "--cluster", lab.name, "--family", str(family), "--port", "8080", "--timeout", "0.5").stdout.splitlines()
    pods = out[0].split()[1:]
    return {(row.split()[0], dst): cell == "." for row in out[1:] for dst, cell in zip(pods, row.split()[1:])}


@pytest.mark.parametrize("family", FAMILIES)
def test_a_policy_selecting_pods_holds_in_each_family(policy, family, wait_until):
    policy.apply(yaml.safe_dump(ONLY_CLIENTS))

    def enforced():
        cells = _matrix(policy, family)
        return cells[("default/stranger", "default/web-a")] is False and cells
    cells = wait_until(enforced, 15, 0.2, f"the policy in IPv{family}")
    assert cells[("default/client", "default/web-a")] and cells[("default/client", "default/web-b")]
    assert not cells[("default/stranger", "default/web-b")]


def test_an_ipv6_ip_block_opens_ipv6_only(policy, wait_until):
    block = json.loads(json.dumps(ONLY_CLIENTS))
    block["spec"]["ingress"] = [{"from": [{"ipBlock": {"cidr": str(policy.ranges.pod6)}}]}]
    policy.apply(yaml.safe_dump(block))
    v4, v6 = _pod_ip(policy, "web-a", 4), _pod_ip(policy, "web-a", 6)
    wait_until(lambda: _get(policy, "stranger", v4, 8080, timeout=1) is None, 15, 0.2, "IPv4 closed")
    assert _get(policy, "stranger", v6, 8080) is not None


def test_trace_walks_the_ipv6_rules_of_the_mode(dual):
    v6 = dual.cluster_ips("web")[6]
    result = json.loads(dual.nl("trace", "client", f"[{v6}]:80", "-o", "json").stdout)
    assert result["verdict"] == "delivered", result["reason"]
    dnat = next(s for s in result["steps"] if s["kind"] == "netfilter" and s["data"]["verdict"] == "DNAT")
    if dual.kube_proxy_mode == "nftables":
        assert dnat["object"].startswith("nft ip6 kube-proxy nat-prerouting → services → service-")
    else:
        assert "KUBE-SERVICES" in dnat["object"]
    assert result["endpoint"].startswith("[fd") or result["endpoint"].startswith("[")


# -- conntrack: stale UDP flows are flushed in IPv6 too --------------------------------------------


def _udp_server(name: str, node: str) -> dict:
    return {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": "udp"}},
        "spec": {"nodeName": node, "containers": [{
            "name": "netexec", "image": AGNHOST, "args": ["netexec", "--http-port=8080", "--udp-port=8081"],
            "ports": [{"containerPort": 8081, "protocol": "UDP"}],
        }]},
    }  # fmt: skip


def test_ipv6_udp_flows_to_a_gone_endpoint_are_flushed(dual, wait_until):
    import sys

    udp = _service("udp", selector="udp", ports=[{"port": 53, "targetPort": 8081, "protocol": "UDP"}])
    dual.apply(yaml.safe_dump_all([_udp_server("udp-1", "node-a"), udp]))
    dual.wait_running("udp-1")
    address = dual.cluster_ips("udp")[6]

    def ask() -> str:
        return dual.exec("client", sys.executable, "-c", UDP_CLIENT, address, "53").stdout.strip()

    assert wait_until(lambda: ask() == "udp-1" and "udp-1", timeout=10, what="udp-1 answers over IPv6")
    dual.nl("delete", "pod", "udp-1")
    dual.apply(yaml.safe_dump(_udp_server("udp-2", "node-b")))
    dual.wait_running("udp-2")
    # Same client port: without `conntrack -D -f ipv6 …` the flow would still go to udp-1's address.
    assert ask() == "udp-2"
    dual.nl("delete", "pod", "udp-2")
    dual.nl("delete", "svc", "udp")


def test_an_endpoint_change_is_a_partial_sync_in_each_familys_rules(dual, wait_until):
    """Each family's rules are synced on their own, and only what changed is sent: in nftables
    mode this also proves the one nf_tables generation of the namespace is kept right for both
    tables (a wrong one would load them whole every time)."""
    before = len(dual.nl("events").stdout.splitlines())
    dual.apply(yaml.safe_dump(_web("web-c", "node-b")))
    dual.wait_running("web-c")
    address, service = _pod_ip(dual, "web-c", 6), dual.cluster_ips("web")[6]
    # web-c's rules are in once the Service picks it (one connection in three does).
    wait_until(lambda: (_get(dual, "client", service) or {}).get("pod") == "web-c", 15, 0.1, "web-c serves over IPv6")
    events = dual.nl("events").stdout.splitlines()[before:]
    if dual.kube_proxy_mode == "nftables":
        wanted = ("nft -f (partial, table ip kube-proxy)", "nft -f (partial, table ip6 kube-proxy)")
        assert not any("whole table" in line for line in events), events
    else:
        wanted = ("iptables-restore --noflush", "ip6tables-restore --noflush")
    assert all(any(w in line for line in events) for w in wanted), events
    assert address in dual.in_netns(dual.node_netns("node-a"), *(
        ("nft", "list", "table", "ip6", "kube-proxy") if dual.kube_proxy_mode == "nftables" else ("ip6tables-save", "-t", "nat")
    )).stdout
    dual.nl("delete", "pod", "web-c")
