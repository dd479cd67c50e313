"""hostNetwork pods and hostPorts, as a real node has them: a host-network pod lives in its
node's namespace with the node's address; a hostPort answers on the node's address, forwarded
by the portmap plugin's chains; the scheduler never puts two pods on one node's port."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.root, pytest.mark.every_kube_proxy_mode]

PODS = """
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  nodeName: node-a
  containers: [{name: c, image: busybox, command: ["sleep", "infinity"]}]
---
apiVersion: v1
kind: Pod
metadata: {name: hostnet, labels: {app: hostnet}}
spec:
  hostNetwork: true
  dnsPolicy: ClusterFirstWithHostNet
  nodeName: node-b
  containers:
  - name: web
    image: registry.k8s.io/e2e-test-images/agnhost:2.39
    args: ["netexec", "--http-port=8081"]
    ports: [{containerPort: 8081}]
---
apiVersion: v1
kind: Pod
metadata: {name: hostnet-default}
spec:
  hostNetwork: true
  nodeName: node-a
  containers: [{name: c, image: busybox, command: ["sleep", "infinity"]}]
---
apiVersion: v1
kind: Service
metadata: {name: hostnet}
spec:
  selector: {app: hostnet}
  ports: [{port: 80, targetPort: 8081}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: hp}
spec:
  replicas: 3
  selector: {matchLabels: {app: hp}}
  template:
    metadata: {labels: {app: hp}}
    spec:
      containers:
      - name: web
        image: nginx
        ports: [{containerPort: 80, hostPort: 8080}]
"""


@pytest.fixture(scope="module")
def hosts(lab):
    lab.apply(PODS, "hostports")
    lab.wait_running("client", "hostnet", "hostnet-default")
    return lab


def node_ip(lab, index: int) -> str:
    return str(lab.ranges.underlay.network_address + 11 + index)


def test_a_host_network_pod_has_its_nodes_address_name_and_links(hosts):
    lab = hosts
    assert lab.pod_ip("hostnet") == node_ip(lab, 1) and lab.pod("hostnet")["status"]["hostIP"] == node_ip(lab, 1)
    assert lab.exec("hostnet", "hostname").stdout.strip() == "node-b"
    assert "cni0" in lab.exec("hostnet", "ip", "-br", "link").stdout  # the node's own bridge


def test_dns_policy_decides_a_host_network_pods_resolver(hosts):
    lab = hosts
    assert f"nameserver {lab.dns_ip}" in lab.exec("hostnet", "cat", "/etc/resolv.conf").stdout  # ClusterFirstWithHostNet
    assert lab.exec("hostnet-default", "cat", "/etc/resolv.conf").stdout.strip() == ""  # ClusterFirst -> Default: the node's


def test_a_service_reaches_a_host_network_backend_on_the_nodes_address(hosts):
    lab = hosts
    assert lab.exec("client", "curl", "-sS", "-m", "3", "http://hostnet/hostname").stdout == "node-b"
    assert lab.exec("client", "curl", "-sS", "-m", "3", f"http://{node_ip(lab, 1)}:8081/hostname").stdout == "node-b"


def test_host_ports_answer_on_each_nodes_address_and_the_third_replica_finds_no_node(hosts, wait_until):
    lab = hosts
    wait_until(lambda: len([p for p in lab.get_json("pods", "-l", "app=hp")["items"] if p["status"].get("podIP")]) == 2,
               what="two hp pods placed")  # fmt: skip
    pods = lab.get_json("pods", "-l", "app=hp")["items"]
    placed = {p["spec"]["nodeName"]: p["metadata"]["name"] for p in pods if p["spec"].get("nodeName")}
    assert set(placed) == {"node-a", "node-b"}
    for i, node in enumerate(("node-a", "node-b")):
        answer = lab.curl("client", f"http://{node_ip(lab, i)}:8080/")
        assert answer["pod"] == placed[node]
    pending = [p for p in pods if not p["spec"].get("nodeName")]
    assert len(pending) == 1
    events = lab.nl("describe", "pod", pending[0]["metadata"]["name"]).stdout
    assert "2 node(s) didn't have free ports for the requested pod ports" in events


def test_the_apiservers_endpoint_is_reached_through_default_kubernetes_in_this_proxy_mode(hosts):
    assert hosts.exec("client", "curl", "-sk", "-m", "5", "https://kubernetes.default/readyz").stdout == "ok"


def test_deleting_a_host_network_pod_stops_its_containers_in_the_node(hosts, wait_until):
    lab = hosts
    before = lab.pids_in(lab.node_netns("node-b"))
    assert before
    lab.nl("delete", "pod", "hostnet")
    wait_until(lambda: not lab.pids_in(lab.node_netns("node-b")), what="node-b's namespace without the pod's processes")
