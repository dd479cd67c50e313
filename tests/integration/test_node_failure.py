"""Seed 001's fire: node-b goes down with its pods; the Deployment's pods come back on node-a with
new IPs, the Service answers again at once, and only the client that memorised a pod IP is lost.
Also the planned ways a node leaves: cordon, uncordon and drain.

The controller runs throughout, as the walkthrough (docs/walkthrough-node-failure.md) runs it.
"""

from __future__ import annotations

import time
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Any

import pytest

from conftest import Lab, controller_running, nl, wait_until

pytestmark = [pytest.mark.root, pytest.mark.every_kube_proxy_mode]

MANIFESTS = Path(__file__).resolve().parents[2] / "manifests"
IMAGE_PROCESSING = MANIFESTS / "image-processing"
SELECTOR = "app=image-processing"

BARE_POD = """
apiVersion: v1
kind: Pod
metadata: {name: bare, labels: {app: bare}}
spec:
  nodeName: node-b
  containers: [{name: web, image: nginx, ports: [{containerPort: 80}]}]
"""


# -- helpers -----------------------------------------------------------------------------------


def ready(pod: dict[str, Any]) -> bool:
    statuses = pod["status"].get("containerStatuses") or [{"ready": False}]
    return pod["status"].get("phase") == "Running" and all(c["ready"] for c in statuses)


def pods(lab: Lab, selector: str = SELECTOR) -> list[dict[str, Any]]:
    return lab.get_json("pods", "-l", selector)["items"]


def wait_replicas(lab: Lab, count: int, selector: str = SELECTOR, timeout: float = 15.0, what: str = "") -> list[dict[str, Any]]:
    def settled():
        found = pods(lab, selector)
        return found if len(found) == count and all(ready(p) for p in found) else None

    return wait_until(settled, timeout, interval=0.1, what=what or f"{count} ready pods of {selector}")


def by_name(found: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {p["metadata"]["name"]: p for p in found}


def node_of(pod: dict[str, Any]) -> str:
    return pod["spec"]["nodeName"]


def node_status(lab: Lab, node: str) -> str:
    rows = [line.split() for line in lab.nl("get", "nodes").stdout.splitlines()[1:]]
    return next(row[1] for row in rows if row[0] == node)


def node_cidr(lab: Lab, node: str) -> IPv4Network:
    # The scheduler's nodes get the pod CIDR's /24s in order: node-a .1.0/24, node-b .2.0/24.
    index = {"node-a": 1, "node-b": 2}[node]
    return list(lab.ranges.pod.subnets(new_prefix=24))[index]


def service_answers(lab: Lab, times: int) -> list[str]:
    """`times` requests in a row through the Service from the client; the answering pods, or
    [] if any request failed."""
    script = f'for i in $(seq {times}); do curl -s -m 1 http://image-processing/ || exit 1; echo; done'
    result = lab.exec("client", "sh", "-c", script, check=False)
    if result.returncode != 0:
        return []
    return [line.split()[0].removeprefix("pod=") for line in result.stdout.splitlines() if line.startswith("pod=")]


def node(lab: Lab, verb: str, *args: str, check: bool = True):
    """`netlab node VERB --cluster NAME ARGS…` (a group's options follow its subcommand)."""
    return nl("node", verb, "--cluster", lab.name, *args, check=check)


def fail_node(lab: Lab, name: str) -> None:
    assert node(lab, "fail", name).stdout.splitlines()[0] == f"node/{name} failed"


# -- the fire ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scenario(lab: Lab):
    """Seed 001's lab: the image-processing Deployment (3 replicas over both nodes), its
    Service and the client pod on node-a; plus seed 004's StatefulSet."""
    with controller_running(lab):
        lab.nl("apply", "-f", str(IMAGE_PROCESSING), "-f", str(MANIFESTS / "statefulset" / "web.yaml"))
        wait_replicas(lab, 3)
        wait_replicas(lab, 2, "app=nginx")
        lab.wait_running("client")
        yield lab


def test_node_b_fails_and_its_replicas_come_back_on_node_a_with_new_ips(scenario: Lab):
    lab = scenario
    before = by_name(wait_replicas(lab, 3))
    lost = {n: p for n, p in before.items() if node_of(p) == "node-b"}
    assert lost and len(lost) < 3, f"the scenario needs replicas on both nodes: {[(n, node_of(p)) for n, p in before.items()]}"
    web_lost = [p["metadata"]["name"] for p in pods(lab, "app=nginx") if node_of(p) == "node-b"]
    old_ips = {p["status"]["podIP"] for p in before.values()}
    memorised = next(iter(lost.values()))["status"]["podIP"]
    assert lab.curl("client", f"http://{memorised}:8080/")["node"] == "node-b"

    fail_node(lab, "node-b")
    failed_at = time.monotonic()
    # The Service answers again — several requests in a row, so no dead endpoint is left in
    # the rules — within 5 seconds of the fire.
    answered = wait_until(lambda: service_answers(lab, 6), 5.0, interval=0.1, what="the Service to answer again")
    assert time.monotonic() - failed_at < 5.0
    after = by_name(wait_replicas(lab, 3, what="replacements on node-a"))
    assert set(answered) <= set(after)

    assert not set(lost) & set(after), "lost pods are replaced by new pods, not revived"
    assert {node_of(p) for p in after.values()} == {"node-a"}
    replacements = [p for n, p in after.items() if n not in before]
    assert len(replacements) == len(lost)
    for p in replacements:
        ip = p["status"]["podIP"]
        assert ip not in old_ips and IPv4Address(ip) in node_cidr(lab, "node-a")

    # The endpoints and node-a's rules hold the new IPs; the lost ones are gone everywhere.
    endpoints = lab.get_json("endpoints", "image-processing")
    listed = {a["ip"] for s in endpoints["subsets"] for a in s.get("addresses", [])}
    assert listed == {p["status"]["podIP"] for p in after.values()}
    rules = lab.proxy_rules("node-a")
    assert all(f"{ip}:8080" not in rules for ip in {p["status"]["podIP"] for p in lost.values()})
    assert all(f"{p['status']['podIP']}:8080" in rules for p in replacements)

    # The client that memorised a pod IP instead of the Service's name is stranded.
    assert lab.exec("client", "curl", "-s", "-m", "1", f"http://{memorised}:8080/", check=False).returncode != 0
    assert node_status(lab, "node-b").startswith("NotReady")

    # A StatefulSet pod of node-b comes back under the same name, on node-a, with a new IP.
    if web_lost:
        name = web_lost[0]
        web = wait_until(lambda: next((p for p in pods(lab, "app=nginx") if p["metadata"]["name"] == name and ready(p)), None), 15, what=f"{name} re-created")
        assert node_of(web) == "node-a"
        new_ip = web["status"]["podIP"]
        dns = f"{name}.nginx.default.svc.cluster.local"
        wait_until(lambda: lab.exec("client", "dig", "+short", dns).stdout.split() == [new_ip], 3, interval=0.1, what=f"{dns} to follow")


def test_node_b_recovers_and_takes_new_pods_again(scenario: Lab):
    lab = scenario
    before = by_name(wait_replicas(lab, 3))
    assert node(lab, "recover", "node-b").stdout.splitlines()[0] == "node/node-b recovered"
    assert node_status(lab, "node-b") == "Ready"
    # Kubernetes does not move running pods back: the replicas stay where they are.
    assert by_name(wait_replicas(lab, 3)).keys() == before.keys()
    try:
        lab.nl("scale", "deploy/image-processing", "--replicas", "5")
        after = wait_replicas(lab, 5)
        new_on_b = [p for p in after if node_of(p) == "node-b"]
        assert new_on_b, "the scheduler should use the recovered node"
        assert all(IPv4Address(p["status"]["podIP"]) in node_cidr(lab, "node-b") for p in new_on_b)
    finally:
        lab.nl("scale", "deploy/image-processing", "--replicas", "3")
    wait_replicas(lab, 3)


def test_cordon_keeps_new_pods_off_a_node_and_uncordon_lets_them_back(scenario: Lab):
    lab = scenario
    before = by_name(wait_replicas(lab, 3))
    assert node(lab, "cordon", "node-b").stdout.strip() == "node/node-b cordoned"
    try:
        assert node_status(lab, "node-b") == "Ready,SchedulingDisabled"
        lab.nl("scale", "deploy/image-processing", "--replicas", "5")
        after = by_name(wait_replicas(lab, 5))
        assert before.keys() <= after.keys(), "cordoning does not evict running pods"
        assert {node_of(p) for n, p in after.items() if n not in before} == {"node-a"}
    finally:
        lab.nl("scale", "deploy/image-processing", "--replicas", "3")
        assert node(lab, "uncordon", "node-b").stdout.strip() == "node/node-b uncordoned"
    assert node_status(lab, "node-b") == "Ready"
    wait_replicas(lab, 3)


def test_drain_refuses_bare_pods_without_force_then_evicts_everything(scenario: Lab):
    lab = scenario
    lab.apply(BARE_POD)
    lab.wait_running("bare")
    # Put replicas on node-b again (after the fire they all live on node-a).
    lab.nl("scale", "deploy/image-processing", "--replicas", "5")
    on_b = {n for n, p in by_name(wait_replicas(lab, 5)).items() if node_of(p) == "node-b"}
    assert on_b, "the scheduler should place new replicas on the emptier node-b"
    try:
        refused = node(lab, "drain", "node-b", check=False)
        assert refused.returncode == 3
        assert "default/bare" in refused.stderr and "--force" in refused.stderr
        assert {n for n, p in by_name(pods(lab)).items() if node_of(p) == "node-b"} == on_b, "a refused drain evicts nothing"

        drained = node(lab, "drain", "node-b", "--force").stdout.splitlines()
        assert "pod/bare evicted" in drained and drained[-1] == "node/node-b drained"
        assert {f"pod/{n} evicted" for n in on_b} <= set(drained)
        assert node_status(lab, "node-b") == "Ready,SchedulingDisabled"
        after = wait_replicas(lab, 5, what="evicted replicas re-created elsewhere")
        assert {node_of(p) for p in after} == {"node-a"}
        assert not on_b & {p["metadata"]["name"] for p in after}
        assert "bare" not in {p["metadata"]["name"] for p in lab.get_json("pods")["items"]}, "nothing re-creates a bare pod"
    finally:
        node(lab, "uncordon", "node-b")
        lab.nl("scale", "deploy/image-processing", "--replicas", "3")
        lab.nl("delete", "pod", "bare", "--ignore-not-found")
    wait_replicas(lab, 3)


# -- bare pods, and what a power cycle leaves behind ---------------------------------------------


def test_bare_pods_are_not_recreated_after_their_node_fails(scenario: Lab):
    """Exactly as in Kubernetes: no controller owns a bare pod, so it stays bound to its node."""
    lab = scenario
    lab.apply(BARE_POD)
    lab.wait_running("bare")
    old_ip = lab.pod_ip("bare")
    try:
        fail_node(lab, "node-b")
        bare = lab.pod("bare")
        assert bare["spec"]["nodeName"] == "node-b"
        assert bare["status"]["phase"] != "Running"
        assert [n for n in by_name(lab.get_json("pods")["items"]) if n.startswith("bare")] == ["bare"]
    finally:
        node(lab, "recover", "node-b")
    lab.wait_running("bare", timeout=15)
    bare = lab.pod("bare")
    assert bare["spec"]["nodeName"] == "node-b"
    assert bare["status"]["podIP"] != old_ip, "a new sandbox after the power cycle: a new IP"
    lab.nl("delete", "pod", "bare")
    wait_replicas(lab, 3)


def underlay_ip(lab: Lab, name: str) -> str:
    return str(lab.ranges.underlay.network_address + {"node-a": 11, "node-b": 12}[name])


def test_the_other_node_learns_the_recovered_node_s_address_at_once(scenario: Lab):
    lab = scenario
    node_a, peer = lab.node_netns("node-a"), underlay_ip(lab, "node-b")

    def learned() -> list[str]:
        return [n["lladdr"] for n in lab.ip_json("neigh", "show", peer, netns=node_a) if n.get("lladdr")]

    # Traffic from node-a to node-b gives node-a a neighbour entry for node-b's address (the
    # connection itself may fail: the entry may already be a stale one, which is the point).
    lab.in_netns(node_a, "nc", "-z", "-w", "1", peer, "9", check=False)
    assert learned(), "node-a should have a neighbour entry for node-b"
    fail_node(lab, "node-b")
    node(lab, "recover", "node-b")
    mac = lab.ip_json("link", "show", "eth0", netns=lab.node_netns("node-b"))[0]["address"]
    assert learned() in ([], [mac]), f"node-a still sends node-b's traffic to {learned()}; node-b's eth0 is now {mac}"


def test_a_bare_pod_on_the_failed_node_does_not_stop_the_healing(scenario: Lab):
    """Bare pods stay lost; that must not keep the controller from replacing everything else."""
    lab = scenario
    node(lab, "recover", "node-b")
    lab.apply(BARE_POD)
    lab.wait_running("bare", timeout=15)
    lab.nl("scale", "deploy/image-processing", "--replicas", "5")
    assert any(node_of(p) == "node-b" for p in wait_replicas(lab, 5))
    fail_node(lab, "node-b")
    wait_until(lambda: service_answers(lab, 6), 5.0, interval=0.1, what="the Service to answer again")
    after = wait_replicas(lab, 5, timeout=10)
    assert {node_of(p) for p in after} == {"node-a"}
