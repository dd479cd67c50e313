"""Seed 003's three answers to "how does a pod reach a pod on another node": flannel host-gw
routes, flannel's VXLAN overlay, and Calico-style BGP with a real BIRD in every node.

The same pods, Service, NodePort and NetworkPolicy behave the same in every mode; what differs
is the crossing, which each mode's own tests look at: the UDP 8472 packets on the underlay, the
routes BIRD writes (`proto bird`) and withdraws when a node dies.
"""

from __future__ import annotations

import json
import subprocess
import time
from ipaddress import IPv4Network

import pytest
import yaml

from conftest import Lab, create_lab, delete_lab, nl, sh, wait_until

pytestmark = pytest.mark.root

WEB = 8080
NODE_PORT = 30091
PODS = """
apiVersion: v1
kind: Pod
metadata: {name: a1, labels: {app: web, role: friend}}
spec:
  nodeName: node-a
  containers: [{name: web, image: nginx, ports: [{containerPort: 8080}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: a2, labels: {app: web}}
spec:
  nodeName: node-a
  containers: [{name: web, image: nginx, ports: [{containerPort: 8080}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: b1, labels: {app: web, tier: back}}
spec:
  nodeName: node-b
  containers: [{name: web, image: nginx, ports: [{containerPort: 8080}]}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: back}
spec:
  type: NodePort
  selector: {tier: back}
  ports: [{port: 80, targetPort: 8080, nodePort: %d}]
""" % NODE_PORT

# b1 only takes connections from pods labelled role=friend (a1, not a2).
FRIENDS_ONLY = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: friends-only}
spec:
  podSelector: {matchLabels: {tier: back}}
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: {matchLabels: {role: friend}}}]
"""


@pytest.fixture(scope="module", params=["host-gw", "vxlan", "bgp"])
def routed(request, tmp_path_factory):
    """A two-node lab in one routing mode, with a1, a2 on node-a and b1 on node-b."""
    lab = create_lab(tmp_path_factory.mktemp(f"routing-{request.param}"), routing=request.param)
    lab.mode = request.param
    try:
        lab.apply(PODS)
        lab.wait_running("a1", "a2", "b1")
        yield lab
    finally:
        delete_lab(lab)


# -- helpers -----------------------------------------------------------------------------------


def get(lab: Lab, pod: str, url: str, timeout: float = 3) -> dict[str, str] | None:
    """The built-in web server's answer as a dict, or None when the request failed."""
    result = lab.exec(pod, "curl", "-sS", "-m", str(timeout), url, check=False)
    if result.returncode != 0:
        return None
    return dict(word.split("=", 1) for word in result.stdout.split() if "=" in word)


def underlay_ip(lab: Lab, node: str) -> str:
    return str(lab.ranges.underlay.network_address + {"node-a": 11, "node-b": 12}[node])


def node_subnet(lab: Lab, node: str) -> IPv4Network:
    return list(lab.ranges.pod.subnets(new_prefix=24))[{"node-a": 1, "node-b": 2}[node]]


def routes(lab: Lab, node: str) -> list[dict]:
    return lab.ip_json("route", "show", netns=lab.node_netns(node))


def route_to(lab: Lab, node: str, subnet: IPv4Network) -> dict | None:
    return next((r for r in routes(lab, node) if r["dst"] == str(subnet)), None)


def node_cmd(lab: Lab, verb: str, node: str) -> None:
    nl("node", verb, "--cluster", lab.name, node)


# -- the same behaviour in every mode ------------------------------------------------------------


def test_pods_reach_each_other_on_the_same_node_and_across_nodes_unnatted(routed):
    a1 = routed.pod_ip("a1")
    for target in ("a2", "b1"):
        answer = get(routed, "a1", f"http://{routed.pod_ip(target)}:{WEB}/")
        assert answer and answer["pod"] == target, f"a1 → {target} in {routed.mode}: {answer}"
        assert answer["client"].split(":")[0] == a1  # the flat pod network: no NAT between pods
    answer = get(routed, "b1", f"http://{a1}:{WEB}/")
    assert answer and answer["pod"] == "a1" and answer["client"].split(":")[0] == routed.pod_ip("b1")


def test_the_crossing_is_the_modes_own(routed):
    b_subnet, b_under = node_subnet(routed, "node-b"), underlay_ip(routed, "node-b")
    route = route_to(routed, "node-a", b_subnet)
    assert route is not None, routes(routed, "node-a")
    if routed.mode == "host-gw":
        assert (route["gateway"], route["dev"]) == (b_under, "eth0")
    elif routed.mode == "vxlan":
        vtep = str(b_subnet.network_address)
        assert (route["gateway"], route["dev"], "onlink" in route.get("flags", [])) == (vtep, "flannel.1", True)
        link = routed.ip_json("-d", "link", "show", "flannel.1", netns=routed.node_netns("node-a"))[0]
        info = link["linkinfo"]["info_data"]
        assert (info["id"], info["port"], info["local"], info.get("learning")) == (1, 8472, underlay_ip(routed, "node-a"), False)
        assert link["mtu"] == 1450
        neigh = routed.ip_json("neigh", "show", "dev", "flannel.1", netns=routed.node_netns("node-a"))
        assert [(n["dst"], "PERMANENT" in n["state"]) for n in neigh] == [(vtep, True)]
        fdb = json.loads(sh("bridge", "-n", routed.node_netns("node-a"), "-j", "fdb", "show", "dev", "flannel.1").stdout)
        assert [(f["mac"], f["dst"]) for f in fdb if f.get("dst")] == [(neigh[0]["lladdr"], b_under)]
        # The pods' MTU leaves room for the 50 bytes of outer headers.
        pod_link = routed.ip_json("link", "show", "eth0", netns=routed.pod_netns("a1"))[0]
        assert pod_link["mtu"] == 1450
    else:
        assert (route["gateway"], route["dev"], route["protocol"]) == (b_under, "eth0", "bird")


def test_a_service_answers_from_pods_on_both_nodes(routed):
    def seen_both(seen=set()):
        answer = get(routed, "a1", "http://web/", timeout=2)
        if answer:
            seen.add(answer["node"])
        return {"node-a", "node-b"} <= seen

    wait_until(seen_both, 15, interval=0, what=f"the Service answering from both nodes ({routed.mode})")


def test_nodeport_from_the_host_crosses_to_the_pod_on_the_other_node(routed):
    url = f"http://{underlay_ip(routed, 'node-a')}:{NODE_PORT}/"  # only ever this lab's underlay
    result = sh("curl", "-sS", "-m", "3", url, check=False)
    assert result.returncode == 0, f"{url} from the host ({routed.mode}): {result.stderr}"
    assert "pod=b1" in result.stdout


def test_network_policy_holds_across_nodes(routed):
    b1 = routed.pod_ip("b1")
    routed.apply(FRIENDS_ONLY)
    try:
        assert get(routed, "a1", f"http://{b1}:{WEB}/")["pod"] == "b1"
        assert get(routed, "a2", f"http://{b1}:{WEB}/", timeout=1) is None
    finally:
        routed.nl("delete", "networkpolicy", "friends-only")
    wait_until(lambda: get(routed, "a2", f"http://{b1}:{WEB}/", timeout=1), 10, what="a2 let in again")


def test_a_large_transfer_crosses_nodes_whole(routed):
    """4 MB from node-a's pod to node-b's: full-size packets must fit the crossing (in vxlan
    mode only because the pods' MTU is 50 bytes smaller than the underlay's)."""
    size = 4_000_000
    server = subprocess.Popen(
        ["ip", "netns", "exec", routed.pod_netns("b1"), "sh", "-c", "nc -l -p 9000 | wc -c"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_until(lambda: ":9000" in sh("ip", "netns", "exec", routed.pod_netns("b1"), "ss", "-ltn").stdout, 5, what="nc listening")
        send = f"head -c {size} /dev/zero | nc -N -w 5 {routed.pod_ip('b1')} 9000"
        routed.in_netns(routed.pod_netns("a1"), "sh", "-c", send)
        out, _ = server.communicate(timeout=10)
        assert int(out.strip()) == size
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def test_trace_names_the_crossing(routed):
    result = json.loads(routed.nl("trace", "a1", f"{routed.pod_ip('b1')}:{WEB}", "-o", "json").stdout)
    assert result["verdict"] == "delivered"
    route = next(s for s in result["steps"] if s["kind"] == "route" and s["where"] == "node node-a")
    assert route["data"]["crossing"] == routed.mode and route["decision"].startswith(f"{routed.mode}:")
    wrapped = [s for s in result["steps"] if s["kind"] == "vxlan"]
    if routed.mode == "vxlan":
        assert wrapped[0]["data"]["outer_src"] == underlay_ip(routed, "node-a")
        assert wrapped[0]["data"]["outer_dst"] == underlay_ip(routed, "node-b")
        assert (wrapped[0]["data"]["vni"], wrapped[0]["data"]["port"]) == (1, 8472)
    else:
        assert wrapped == []
    if routed.mode == "bgp":
        assert f"next hop {underlay_ip(routed, 'node-b')}" in route["decision"]


def test_describe_node_shows_the_modes_state(routed):
    text = routed.nl("describe", "node", "node-a").stdout
    if routed.mode == "vxlan":
        assert "flannel.1" in text and "VNI 1, udp/8472" in text and f"dst {underlay_ip(routed, 'node-b')}" in text
    elif routed.mode == "bgp":
        assert "Established" in text and "mesh_node_b" in text and "proto bird" in text
    else:
        assert f"via {underlay_ip(routed, 'node-b')} dev eth0" in text


def test_node_failure_and_recovery(routed):
    """node-b fails: vxlan drops its entries at once, BGP withdraws its routes when the hold
    timer expires (a few seconds), host-gw keeps its static route. After recovery b1 (a bare
    pod bound to node-b) comes back with a new sandbox and node-a reaches it again."""
    b_subnet = node_subnet(routed, "node-b")
    node_cmd(routed, "fail", "node-b")
    failed_at = time.monotonic()
    try:
        if routed.mode == "host-gw":
            assert route_to(routed, "node-a", b_subnet) is not None
        elif routed.mode == "vxlan":
            assert route_to(routed, "node-a", b_subnet) is None
            assert routed.ip_json("neigh", "show", "dev", "flannel.1", netns=routed.node_netns("node-a")) == []
        else:
            wait_until(lambda: route_to(routed, "node-a", b_subnet) is None, 8, interval=0.1, what="BIRD withdrawing node-b's block")
            assert time.monotonic() - failed_at < 6
        assert get(routed, "a1", "http://web/", timeout=2)["node"] == "node-a"  # the Service lost b1 only
    finally:
        node_cmd(routed, "recover", "node-b")
    routed.wait_running("b1", timeout=15)
    b1 = routed.pod_ip("b1")
    answer = wait_until(lambda: get(routed, "a1", f"http://{b1}:{WEB}/", timeout=1), 15, what=f"node-b's pods reachable again ({routed.mode})")
    assert answer["pod"] == "b1"


# -- what each mode puts on the wire and in the node --------------------------------------------


def test_cross_node_packets_on_the_underlay_are_the_modes_own(routed):
    """tcpdump on node-a's eth0 (`netlab capture` does the same): VXLAN's UDP 8472 between the
    nodes' underlay addresses, or (host-gw, bgp) the pods' own packets, unencapsulated."""
    capture = subprocess.Popen(
        ["ip", "netns", "exec", routed.node_netns("node-a"), "tcpdump", "-l", "-nn", "-i", "eth0", "-c", "1",
         f"udp port 8472 or tcp port {WEB}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        a1, b1 = routed.pod_ip("a1"), routed.pod_ip("b1")

        def captured():
            get(routed, "a1", f"http://{b1}:{WEB}/", timeout=1)
            return capture.poll() is not None

        wait_until(captured, 10, interval=0.2, what="tcpdump seeing cross-node traffic on node-a's eth0")
        out = capture.stdout.read()
        if routed.mode == "vxlan":
            outer = f"{underlay_ip(routed, 'node-a')}."
            assert outer in out and f"{underlay_ip(routed, 'node-b')}.8472" in out, out
        else:
            assert f"{a1}." in out and f"{b1}.{WEB}" in out, out
    finally:
        if capture.poll() is None:
            capture.kill()
        capture.wait()


def test_the_crossing_stays_off_the_hosts_veth(routed):
    """Containment: node-to-node traffic (VXLAN, BGP, routed pod packets) is switched by the
    fabric bridge to the other node's port only; the host's one veth into the lab sees none
    of it while pods talk across nodes (watched for a bounded 3 s, while they do)."""
    host_link = f"{routed.name}0"
    a1, b1 = routed.pod_ip("a1"), routed.pod_ip("b1")
    watch = subprocess.Popen(
        ["timeout", "3", "tcpdump", "-l", "-nn", "-i", host_link, "-c", "1",
         f"udp port 8472 or tcp port 179 or host {a1} or host {b1}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        while "listening on" not in (line := watch.stderr.readline()):
            assert line, "tcpdump did not start"
        for _ in range(5):
            assert get(routed, "a1", f"http://{b1}:{WEB}/", timeout=1)
        out, _ = watch.communicate(timeout=10)
        assert out.strip() == "", f"the host's {host_link} saw lab traffic ({routed.mode}): {out}"
    finally:
        if watch.poll() is None:
            watch.kill()
            watch.wait()


def test_bgp_runs_a_supervised_bird_in_each_node_and_the_others_run_nothing(routed):
    """bgp: killing node-a's BIRD gets it started again by the control plane, and the mesh comes
    back; host-gw and vxlan run no daemon in the node (netlab writes flanneld's entries)."""
    if routed.mode != "bgp":
        assert routed.pids_in(routed.node_netns("node-a")) == []
        return
    from netlab import naming

    record = f"{naming.cluster_dir(routed.name)}/bird/node-a.pid"
    with open(record) as f:
        pid = int(f.read().split()[0])
    assert pid in routed.pids_in(routed.node_netns("node-a"))
    routed.nl("controller", "start")
    sh("kill", "-9", str(pid))

    def restarted():
        try:
            with open(record) as f:
                return int(f.read().split()[0]) != pid
        except (OSError, ValueError):
            return False

    wait_until(restarted, 10, what="the control plane starting node-a's BIRD again")
    wait_until(lambda: route_to(routed, "node-a", node_subnet(routed, "node-b")), 10, what="node-a learning node-b's block again")


def test_bgp_without_bird2_is_refused_before_anything_is_built(tmp_path, free_ranges):
    from conftest import cluster_document, new_cluster_name

    name = new_cluster_name()
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(cluster_document(name, free_ranges, routing="bgp")))
    # A PATH without BIRD: the other tools stay reachable through a directory of links.
    tools = tmp_path / "bin"
    tools.mkdir()
    for tool in ("ip", "iptables", "iptables-restore", "iptables-save", "iptables-legacy", "iptables-nft",
                 "conntrack", "modprobe", "sysctl", "tc", "nft", "ss"):  # fmt: skip
        found = sh("sh", "-c", f"command -v {tool} || true").stdout.strip()
        if found:
            (tools / tool).symlink_to(found)
    result = nl("cluster", "create", "--config", str(config), check=False, env={"PATH": f"{tools}:/usr/local/bin:/bin"})
    assert result.returncode != 0
    assert "bird2" in result.stderr and "routing mode bgp" in result.stderr, result.stderr
    assert not any(n.startswith(name + ".") for n in sh("ip", "netns", "list").stdout.split())
