"""Seed: how packets travel — same node over the bridge, across nodes over the underlay,
and back to the very pod that sent them (hairpin)."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.root, pytest.mark.every_kube_proxy_mode]

PODS = """
apiVersion: v1
kind: Pod
metadata: {name: web-a1, labels: {app: web-a1}}
spec:
  nodeName: node-a
  containers: [{name: web, image: example.com/web:1, ports: [{containerPort: 8080}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: web-a2}
spec:
  nodeName: node-a
  containers: [{name: web, image: example.com/web:1, ports: [{containerPort: 8080}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: web-b1}
spec:
  nodeName: node-b
  containers: [{name: web, image: example.com/web:1, ports: [{containerPort: 8080}]}]
---
apiVersion: v1
kind: Service
metadata: {name: only-a1}
spec:
  selector: {app: web-a1}
  ports: [{port: 80, targetPort: 8080}]
"""


@pytest.fixture(scope="module")
def pinned(lab):
    lab.apply(PODS, "pinned")
    lab.wait_running("web-a1", "web-a2", "web-b1")
    return lab


def test_pods_land_on_the_nodes_they_are_pinned_to(pinned):
    nodes = {p["metadata"]["name"]: p["spec"]["nodeName"] for p in pinned.get_json("pods")["items"]}

    assert nodes == {"web-a1": "node-a", "web-a2": "node-a", "web-b1": "node-b"}


def test_a_pod_reaches_a_pod_on_the_same_node_by_ip_over_the_bridge(pinned):
    target = pinned.pod_ip("web-a2")

    answer = pinned.curl("web-a1", f"http://{target}:8080/")

    assert answer["pod"] == "web-a2"
    assert answer["client"].rsplit(":", 1)[0] == pinned.pod_ip("web-a1")


def test_a_pod_reaches_a_pod_on_the_other_node_by_ip_with_its_own_source_address(pinned):
    target = pinned.pod_ip("web-b1")

    answer = pinned.curl("web-a1", f"http://{target}:8080/")

    assert answer["pod"] == "web-b1" and answer["node"] == "node-b"
    assert answer["client"].rsplit(":", 1)[0] == pinned.pod_ip("web-a1")


def test_a_pod_reaches_itself_through_its_own_service_hairpin(pinned):
    answer = pinned.curl("web-a1", "http://only-a1/")

    assert answer["pod"] == "web-a1"
