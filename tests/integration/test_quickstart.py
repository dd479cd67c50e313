"""Seed article 000, as the README's quickstart tells it: pod A serves, pod B calls it by name."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.root

QUICKSTART = Path(__file__).resolve().parents[2] / "manifests" / "quickstart"


def _rules(lab, node: str) -> str:
    """`iptables-save` of a node without its timestamp comments (only the rules count)."""
    text = lab.in_netns(lab.node_netns(node), "iptables-save").stdout
    return "\n".join(line for line in text.splitlines() if not line.startswith("#"))


@pytest.fixture(scope="module")
def quickstart(lab):
    """Step 1: pod A alone; steps 2 and 3: pod B and the Service (the article's order)."""
    lab.nl("apply", "-f", str(QUICKSTART / "pod-a.yaml"))
    lab.nl("apply", "-f", str(QUICKSTART / "pod-b.yaml"), "-f", str(QUICKSTART / "service.yaml"))
    lab.wait_running("pod-a", "pod-b")
    return lab


def test_pod_b_reaches_pod_a_through_the_service_by_name(quickstart):
    answer = quickstart.curl("pod-b", "pod-service")

    assert answer["pod"] == "pod-a"
    assert answer["ip"] == quickstart.pod_ip("pod-a")


def test_pod_a_sees_pod_b_own_ip_because_pod_to_pod_traffic_is_not_masqueraded(quickstart):
    answer = quickstart.curl("pod-b", "pod-service")

    client_ip = answer["client"].rsplit(":", 1)[0]
    assert client_ip == quickstart.pod_ip("pod-b")


def test_get_pods_wide_shows_kubectls_columns_with_ip_and_node(quickstart):
    lines = quickstart.nl("get", "pods", "-o", "wide").stdout.splitlines()

    assert lines[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED", "NODE", "READINESS", "GATES"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert set(rows) == {"pod-a", "pod-b"}
    for name, row in rows.items():
        assert row[1:4] == ["1/1", "Running", "0"]
        assert row[5] == quickstart.pod_ip(name)
        assert row[6] in ("node-a", "node-b")


def test_get_pods_json_is_a_kubernetes_list_of_running_pods(quickstart):
    listing = quickstart.get_json("pods")

    assert listing["kind"] == "List"
    pods = {p["metadata"]["name"]: p for p in listing["items"]}
    assert set(pods) == {"pod-a", "pod-b"}
    for pod in pods.values():
        assert pod["spec"]["nodeName"] in ("node-a", "node-b")
        assert pod["status"]["phase"] == "Running"
        assert pod["status"]["podIP"]
        (container,) = pod["status"]["containerStatuses"]
        assert container["ready"] is True and "running" in container["state"]


def test_applying_the_same_files_again_is_unchanged_and_leaves_the_rules_alone(quickstart):
    before = {node: _rules(quickstart, node) for node in ("node-a", "node-b")}
    assert all("KUBE-SERVICES" in rules for rules in before.values())

    out = quickstart.nl("apply", "-f", str(QUICKSTART)).stdout

    assert sorted(out.splitlines()) == [
        "pod/pod-a unchanged",
        "pod/pod-b unchanged",
        "service/pod-service unchanged",
    ]
    assert {node: _rules(quickstart, node) for node in before} == before
    assert quickstart.curl("pod-b", "pod-service")["pod"] == "pod-a"
