"""Seeing the packet's path: trace, capture, events, graph and describe node on a real lab.

Every trace is checked against the kernel or against real traffic: the veth the trace names is
a port of the node's bridge, the node route's next hop is the other node, and with --probe the
endpoint conntrack reports is the pod that answered the request.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.root

PODS = """
apiVersion: v1
kind: Pod
metadata: {name: web-a, labels: {app: web, solo: "yes"}}
spec:
  nodeName: node-a
  containers: [{name: web, image: nginx, ports: [{containerPort: 8080}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: web-b, labels: {app: web}}
spec:
  nodeName: node-b
  containers: [{name: web, image: nginx, ports: [{containerPort: 8080}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  nodeName: node-a
  containers: [{name: c, image: busybox, command: ["sleep", "infinity"]}]
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
metadata: {name: solo}
spec:
  selector: {solo: "yes"}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: empty}
spec:
  selector: {app: nobody}
  ports: [{port: 80, targetPort: 8080}]
"""


@pytest.fixture(scope="module")
def web(lab):
    lab.apply(PODS, "trace")
    lab.wait_running("web-a", "web-b", "client")
    return lab


def trace(lab, *args: str) -> dict:
    return json.loads(lab.nl("trace", *args, "-o", "json").stdout)


def kinds(result: dict) -> list[str]:
    return [s["kind"] for s in result["steps"]]


def steps(result: dict, kind: str) -> list[dict]:
    return [s for s in result["steps"] if s["kind"] == kind]


def node_ip(lab, index: int) -> str:
    return str(lab.ranges.underlay.network_address + 11 + index)


def gateway(lab, index: int) -> str:
    return str(lab.ranges.pod.network_address + 256 * (index + 1) + 1)


def test_pod_to_pod_on_the_same_node_crosses_one_bridge(web):
    result = trace(web, "client", "web-a")
    assert result["verdict"] == "delivered" and result["reached"] == "pod default/web-a"
    assert kinds(result) == ["route", "veth", "netfilter", "bridge", "netfilter", "netfilter", "bridge", "veth", "socket"]
    # The veth the trace names is the client's: a port of cni0 whose peer is the pod's eth0.
    out_veth = result["steps"][1]["data"]
    links = {link["ifname"]: link for link in web.ip_json("link", "show", netns=web.node_netns("node-a"))}
    assert links[out_veth["node_end"]]["master"] == "cni0"
    assert links[out_veth["node_end"]]["ifindex"] == out_veth["node_ifindex"]
    pod_eth0 = web.ip_json("link", "show", "eth0", netns=web.pod_netns("client"))[0]
    assert pod_eth0["ifindex"] == out_veth["pod_ifindex"] and pod_eth0["link_index"] == out_veth["node_ifindex"]
    listener = result["steps"][-1]["data"]
    assert listener["pid"] in web.pids_in(web.pod_netns("web-a"))


def test_pod_to_pod_across_nodes_goes_over_the_underlay(web):
    result = trace(web, "client", web.pod_ip("web-b") + ":8080")
    assert result["verdict"] == "delivered" and result["reached"] == "pod default/web-b"
    node_route = next(s for s in steps(result, "route") if s["where"] == "node node-a")
    assert node_route["data"]["gateway"] == node_ip(web, 1) and node_route["data"]["dev"] == "eth0"
    assert steps(result, "underlay")[0]["data"] == {"node": "node-b", "address": node_ip(web, 1)}
    assert web.curl("client", f"http://{web.pod_ip('web-b')}:8080/")["pod"] == "web-b"


def test_pod_to_service_names_the_dns_answer_and_the_chains(web):
    result = trace(web, "client", "web")
    dns_step = result["steps"][0]
    assert dns_step["kind"] == "dns" and dns_step["data"]["server"] == web.dns_ip
    assert dns_step["data"]["record"].startswith("web.default.svc.cluster.local. 5 IN A " + web.cluster_ip("web"))
    dnat = steps(result, "netfilter")[0]
    assert dnat["data"]["chains"][:2] == ["PREROUTING", "KUBE-SERVICES"]
    assert dnat["data"]["chains"][2].startswith("KUBE-SVC-") and dnat["data"]["chains"][3].startswith("KUBE-SEP-")
    options = dnat["data"]["choices"][0]["options"]
    assert sorted(o["destination"] for o in options) == sorted(f"{web.pod_ip(p)}:8080" for p in ("web-a", "web-b"))
    assert [o["probability"] for o in options] == [0.5, 0.5]


def test_probe_confirms_the_endpoint_that_answered(web):
    ip_to_pod = {web.pod_ip(p): p for p in ("web-a", "web-b")}
    seen = set()
    for _ in range(12):
        result = trace(web, "client", "web:80", "--probe")
        probe = result["steps"][-1]
        assert probe["kind"] == "probe" and probe["data"]["exit_code"] == 0
        answer = dict(w.split("=", 1) for w in probe["data"]["answer"].split() if "=" in w)
        endpoint = probe["data"]["endpoint"]
        assert ip_to_pod[endpoint.split(":")[0]] == answer["pod"]
        assert result["endpoint"] == endpoint and result["reached"] == f"pod default/{answer['pod']}"
        seen.add(answer["pod"])
        if len(seen) == 2:
            break
    assert seen == {"web-a", "web-b"}, "twelve probes all went to one endpoint of two"


def test_hairpin_to_its_own_service_is_masqueraded_and_goes_back_out_of_its_port(web):
    result = trace(web, "web-a", "solo", "--probe")
    assert result["verdict"] == "delivered" and result["reached"] == "pod default/web-a"
    post = [s for s in steps(result, "netfilter") if s["data"]["hook"] == "POSTROUTING"][0]
    assert post["data"]["verdict"] == "MASQUERADE"
    assert steps(result, "bridge")[-1]["data"]["hairpin"] is True
    answer = result["steps"][-1]["data"]["answer"]
    assert "pod=web-a" in answer and f"client={gateway(web, 0)}:" in answer  # SNAT to cni0's address


def test_a_service_without_endpoints_is_rejected_at_kube_services(web):
    result = trace(web, "client", "empty")
    assert result["verdict"] == "rejected" and "KUBE-SERVICES" in result["reason"]
    assert result["steps"][-1]["data"]["chains"][-1] == "KUBE-SERVICES"
    refused = web.exec("client", "curl", "-sS", "-m", "3", "http://empty/", check=False)
    assert refused.returncode == 7  # failed to connect at once: the REJECT answered, no timeout


def test_nothing_listening_is_refused_at_the_pod(web):
    result = trace(web, "client", "web-b:9999")
    assert result["verdict"] == "refused" and result["steps"][-1]["kind"] == "socket"
    assert web.exec("client", "curl", "-sS", "-m", "3", f"http://{web.pod_ip('web-b')}:9999/", check=False).returncode == 7


def test_the_host_cannot_reach_a_pod_ip(web):
    result = trace(web, "host", "web-a")
    assert result["verdict"] == "dropped" and kinds(result) == ["route"]
    assert "proto 212" in result["steps"][0]["object"] + result["steps"][0]["data"]["route"]


@pytest.mark.parametrize("source", ["client", "host"])
def test_a_probe_outside_the_lab_is_refused_before_anything_is_sent(web, source):
    # 198.51.100.7 (TEST-NET-2) is no address of the lab: a probe must not go there, from a pod or
    # from the host. Without --probe the walk is only read from the kernel's tables: allowed.
    refused = web.nl("trace", source, "198.51.100.7:80", "--probe", check=False)
    assert refused.returncode == 3, refused
    assert "refusing to probe 198.51.100.7" in refused.stderr and "outside lab" in refused.stderr
    assert "refusing" not in web.nl("trace", source, "198.51.100.7:80", check=False).stderr


def test_the_host_reaches_a_node_over_the_underlay(web):
    result = trace(web, "host", f"{node_ip(web, 1)}:9999")
    assert kinds(result)[:2] == ["route", "underlay"] and result["reached"] == "node node-b"
    assert result["verdict"] == "refused"


def test_capture_writes_a_pcap_of_a_curl(web, tmp_path):
    pcap = tmp_path / "web-a.pcap"
    argv = [sys.executable, "-m", "netlab", "capture", "--cluster", web.name, "web-a", "-w", str(pcap), "-c", "4", "--", "tcp", "port", "8080"]
    capture = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 10
        # tcpdump creates the file once it listens; only then is the curl sure to be seen.
        while not pcap.exists() and time.monotonic() < deadline and capture.poll() is None:
            time.sleep(0.05)
        assert pcap.exists(), capture.stderr.read() if capture.poll() is not None else "tcpdump did not start"
        assert web.curl("client", f"http://{web.pod_ip('web-a')}:8080/")["pod"] == "web-a"
        capture.wait(timeout=10)
    finally:
        if capture.poll() is None:
            capture.kill()
            capture.wait()
    assert capture.returncode == 0
    read = subprocess.run(["tcpdump", "-n", "-r", str(pcap)], capture_output=True, text=True, check=True).stdout
    assert len(read.splitlines()) == 4 and web.pod_ip("client") in read


def test_events_list_what_reconcile_did(web):
    listed = web.nl("events").stdout
    assert listed.splitlines()[0].split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    for reason in ("Scheduled", "SandboxCreated", "RulesSynced"):
        assert reason in listed
    assert "pod/web-a" in listed and "node/node-a" in listed
    everywhere = web.nl("events", "-A").stdout
    assert "kube-system" in everywhere and "pod/client" in everywhere


def test_graph_shows_every_pod_ip(web, tmp_path):
    ips = [p["status"]["podIP"] for p in web.get_json("pods", "-A")["items"]]
    dot = tmp_path / "lab.dot"
    web.nl("graph", "-o", str(dot))
    text = dot.read_text()
    assert all(ip in text for ip in ips) and "Service default/web" in text
    svg = tmp_path / "lab.svg"
    web.nl("graph", "-o", str(svg))
    assert svg.read_text().lstrip().startswith("<?xml") and all(ip in svg.read_text() for ip in ips)
    web.nl("graph", "-o", str(tmp_path / "lab.mmd"))
    assert (tmp_path / "lab.mmd").read_text().startswith("flowchart TB")


def test_describe_node_names_each_bridge_port_by_its_pod(web):
    text = web.nl("describe", "node", "node-a").stdout
    ports = {link["ifname"] for link in web.ip_json("link", "show", "master", "cni0", netns=web.node_netns("node-a"))}
    port_lines = [line for line in text.splitlines() if "⇄ eth0 of pod" in line]
    assert {line.split()[0] for line in port_lines} == ports
    assert any(f"pod default/web-a ({web.pod_ip('web-a')})" in line for line in port_lines)
    node_b_pods = web.ranges.pod.network_address + 2 * 256
    assert f"{node_b_pods}/24 via {node_ip(web, 1)} dev eth0" in text
    assert "KUBE-SVC-*: " in text
