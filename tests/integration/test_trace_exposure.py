"""trace across the features that came later: the host through a NodePort, and a connection a
NetworkPolicy denies. Each trace is checked against real traffic."""

from __future__ import annotations

import json
import subprocess

import pytest

pytestmark = pytest.mark.root

MANIFEST = """
apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: web}}
spec:
  nodeName: node-b
  containers: [{name: web, image: nginx}]
---
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  nodeName: node-a
  containers: [{name: c, image: busybox, command: [sleep, infinity]}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, nodePort: 30080}]
"""

DENY = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all-ingress}
spec:
  podSelector: {}
  policyTypes: [Ingress]
"""


def trace(lab, *args: str) -> dict:
    return json.loads(lab.nl("trace", *args, "-o", "json").stdout)


def node_ip(lab, node: str) -> str:
    return str(lab.ranges.underlay.network_address + {"node-a": 11, "node-b": 12}[node])


def test_the_host_reaches_a_pod_on_another_node_through_a_node_port(lab):
    lab.apply(MANIFEST, "exposure")
    lab.wait_running("web", "client")
    url = f"{node_ip(lab, 'node-a')}:30080"

    path = trace(lab, "host", url)

    assert path["verdict"] == "delivered"
    chains = " ".join(step.get("object", "") for step in path["steps"])
    assert "KUBE-NODEPORTS" in chains and "KUBE-EXT-" in chains and "KUBE-SEP-" in chains
    assert any("MASQUERADE" in (step.get("decision") or "") for step in path["steps"])
    assert path["endpoint"].startswith(lab.pod_ip("web"))
    real = subprocess.run(["curl", "-sS", "-m", "3", f"http://{url}/"], capture_output=True, text=True)
    assert "pod=web " in real.stdout


def test_a_denied_connection_is_traced_to_the_policy_chain_that_drops_it(lab):
    lab.apply(MANIFEST, "exposure")
    lab.wait_running("web", "client")
    lab.apply(DENY, "deny")

    path = trace(lab, "client", "web:80")

    assert path["verdict"] == "dropped"
    assert "KUBE-POD-IN-" in path["reason"] and "deny-all-ingress" in path["reason"]
    real = lab.exec("client", "curl", "-sS", "-m", "2", "web", check=False)
    assert real.returncode == 28, "a denied TCP connection times out (the policy drops, never rejects)"
