"""The three routing modes carry IPv6 too: in a dual-stack lab, a pod reaches a pod on the other
node at its IPv6 address, across flannel host-gw's IPv6 route, flannel-v6.1 (VXLAN with an IPv6
outer header) or the routes BIRD learned over the IPv6 BGP sessions — and a failed node's
IPv6 entries go and come back as its IPv4 ones do.

One dual-stack lab per mode, a pod on each node; about 15 s a mode.
"""

from __future__ import annotations

import json
import subprocess
from ipaddress import IPv6Address, IPv6Network

import pytest

from conftest import Lab, create_lab, delete_lab, nl, sh, wait_until

pytestmark = pytest.mark.root

WEB = 8080
PODS = """
apiVersion: v1
kind: Pod
metadata: {name: a1}
spec:
  nodeName: node-a
  containers: [{name: web, image: registry.k8s.io/e2e-test-images/agnhost:2.47, args: [netexec, --http-port=8080]}]
---
apiVersion: v1
kind: Pod
metadata: {name: b1}
spec:
  nodeName: node-b
  containers: [{name: web, image: registry.k8s.io/e2e-test-images/agnhost:2.47, args: [netexec, --http-port=8080]}]
"""
INDEX = {"node-a": 1, "node-b": 2}


@pytest.fixture(scope="module", params=["host-gw", "vxlan", "bgp"])
def dual(request, tmp_path_factory):
    """A two-node dual-stack lab in one routing mode, a1 on node-a and b1 on node-b."""
    lab = create_lab(tmp_path_factory.mktemp(f"routing6-{request.param}"), routing=request.param, ip_family="dual")
    lab.mode = request.param
    try:
        lab.apply(PODS)
        lab.wait_running("a1", "b1")
        yield lab
    finally:
        delete_lab(lab)


def ip6(lab: Lab, pod: str) -> str:
    ips = [p["ip"] if isinstance(p, dict) else p for p in lab.pod(pod)["status"]["podIPs"]]
    return next(ip for ip in ips if ":" in ip)


def underlay6(lab: Lab, node: str) -> str:
    return str(lab.ranges.underlay6.network_address + int(str(10 + INDEX[node]), 16))


def subnet6(lab: Lab, node: str) -> IPv6Network:
    return IPv6Network((int(lab.ranges.pod6.network_address) + (INDEX[node] << 64), 64))


def route6(lab: Lab, node: str, subnet: IPv6Network) -> dict | None:
    routes = lab.ip_json("-6", "route", "show", netns=lab.node_netns(node))
    return next((r for r in routes if r["dst"] == str(subnet)), None)


def client_of(lab: Lab, pod: str, address: str, timeout: float = 3) -> str | None:
    """Who agnhost's /clientip says is calling, over IPv6 (None when the request failed)."""
    result = lab.exec(pod, "curl", "-6", "-g", "-sS", "-m", str(timeout), f"http://[{address}]:{WEB}/clientip", check=False)
    return result.stdout.strip() if result.returncode == 0 else None


def test_pods_reach_each_other_across_nodes_over_ipv6_unnatted(dual):
    a1, b1 = ip6(dual, "a1"), ip6(dual, "b1")
    assert IPv6Address(a1) in subnet6(dual, "node-a") and IPv6Address(b1) in subnet6(dual, "node-b")
    assert client_of(dual, "a1", b1).rsplit(":", 1)[0].strip("[]") == a1, dual.mode
    assert client_of(dual, "b1", a1).rsplit(":", 1)[0].strip("[]") == b1, dual.mode


def test_the_ipv6_crossing_is_the_modes_own(dual):
    b_subnet, b_under = subnet6(dual, "node-b"), underlay6(dual, "node-b")
    route = route6(dual, "node-a", b_subnet)
    assert route is not None, dual.ip_json("-6", "route", "show", netns=dual.node_netns("node-a"))
    if dual.mode == "host-gw":
        assert (route["gateway"], route["dev"]) == (b_under, "eth0")
    elif dual.mode == "vxlan":
        vtep = str(b_subnet.network_address)
        assert (route["gateway"], route["dev"], "onlink" in route.get("flags", [])) == (vtep, "flannel-v6.1", True)
        link = dual.ip_json("-d", "link", "show", "flannel-v6.1", netns=dual.node_netns("node-a"))[0]
        info = link["linkinfo"]["info_data"]
        assert (info["id"], info["port"], info["local6"], info.get("learning")) == (1, 8472, underlay6(dual, "node-a"), False)
        assert link["mtu"] == 1430  # the IPv6 outer header is 20 bytes longer than IPv4's
        neigh = dual.ip_json("-6", "neigh", "show", "dev", "flannel-v6.1", netns=dual.node_netns("node-a"))
        assert [(n["dst"], "PERMANENT" in n["state"]) for n in neigh] == [(vtep, True)]
        fdb = json.loads(sh("bridge", "-n", dual.node_netns("node-a"), "-j", "fdb", "show", "dev", "flannel-v6.1").stdout)
        assert [(f["mac"], f["dst"]) for f in fdb if f.get("dst")] == [(neigh[0]["lladdr"], b_under)]
        # flannel.1 still carries IPv4, with its own MAC
        assert dual.ip_json("link", "show", "flannel.1", netns=dual.node_netns("node-a"))[0]["address"] != link["address"]
    else:
        assert (route["gateway"], route["dev"], route["protocol"]) == (b_under, "eth0", "bird")


def test_a_large_transfer_crosses_nodes_whole_over_ipv6(dual):
    """4 MB from a1 to b1 over IPv6: full-size packets fit the crossing (in vxlan mode only
    because the pods' MTU leaves room for flannel-v6.1's 70 bytes of IPv6 outer headers)."""
    size = 4_000_000
    server = subprocess.Popen(
        ["ip", "netns", "exec", dual.pod_netns("b1"), "sh", "-c", "nc -6 -l -p 9000 | wc -c"], stdout=subprocess.PIPE, text=True
    )
    try:
        wait_until(lambda: ":9000" in sh("ip", "netns", "exec", dual.pod_netns("b1"), "ss", "-ltn").stdout, 5, what="nc listening")
        dual.in_netns(dual.pod_netns("a1"), "sh", "-c", f"head -c {size} /dev/zero | nc -6 -N -w 5 {ip6(dual, 'b1')} 9000")
        out, _ = server.communicate(timeout=10)
        assert int(out.strip()) == size
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def test_describe_node_shows_the_ipv6_state(dual):
    text = dual.nl("describe", "node", "node-a").stdout
    b_under = underlay6(dual, "node-b")
    if dual.mode == "vxlan":
        assert "flannel-v6.1" in text and f"fdb " in text and f"dst {b_under}" in text and "mtu 1430" in text
    elif dual.mode == "bgp":
        assert "mesh6_node_b" in text and f"{subnet6(dual, 'node-b')} via {b_under} dev eth0  proto bird" in text
    else:
        assert f"{subnet6(dual, 'node-b')} via {b_under} dev eth0" in text


def test_a_failed_nodes_ipv6_entries_go_and_come_back(dual):
    """vxlan drops node-b's flannel-v6.1 entries at once, BGP withdraws its /64 when the hold
    timer expires, host-gw keeps its static IPv6 route; after recovery node-a reaches b1's new
    IPv6 address."""
    b_subnet = subnet6(dual, "node-b")
    nl("node", "fail", "--cluster", dual.name, "node-b")
    try:
        if dual.mode == "host-gw":
            assert route6(dual, "node-a", b_subnet) is not None
        elif dual.mode == "vxlan":
            assert route6(dual, "node-a", b_subnet) is None
            assert dual.ip_json("-6", "neigh", "show", "dev", "flannel-v6.1", netns=dual.node_netns("node-a")) == []
        else:
            wait_until(lambda: route6(dual, "node-a", b_subnet) is None, 8, interval=0.1, what="BIRD withdrawing node-b's /64")
    finally:
        nl("node", "recover", "--cluster", dual.name, "node-b")
    dual.wait_running("b1", timeout=30)
    # b1's address as the store has it now (its new sandbox's), read at each try
    client = wait_until(lambda: client_of(dual, "a1", ip6(dual, "b1"), timeout=1), 30, what=f"b1 reachable over IPv6 again ({dual.mode})")
    assert client.rsplit(":", 1)[0].strip("[]") == ip6(dual, "a1")
    assert route6(dual, "node-a", b_subnet) is not None


def test_trace_names_the_ipv6_crossing(dual):
    """`netlab trace` to b1's IPv6 address names the mode's crossing: flannel-v6.1 wrapping it
    towards node-b's IPv6 underlay address, BIRD's IPv6 route, or host-gw's static one."""
    result = json.loads(dual.nl("trace", "a1", f"[{ip6(dual, 'b1')}]:{WEB}", "-o", "json").stdout)
    assert result["verdict"] == "delivered", result
    route = next(s for s in result["steps"] if s["kind"] == "route" and s["where"] == "node node-a")
    assert route["data"]["crossing"] == dual.mode and route["decision"].startswith(f"{dual.mode}:")
    wrapped = [s for s in result["steps"] if s["kind"] == "vxlan"]
    if dual.mode == "vxlan":
        assert [s["object"].split()[0] for s in wrapped] == ["flannel-v6.1", "flannel-v6.1"]
        assert (wrapped[0]["data"]["outer_src"], wrapped[0]["data"]["outer_dst"]) == (underlay6(dual, "node-a"), underlay6(dual, "node-b"))
    else:
        assert wrapped == []
    if dual.mode == "bgp":
        assert f"next hop {underlay6(dual, 'node-b')}" in route["decision"]
