"""Seed 001: the load balancer's address survives the fire. The node that answers ARP for a
LoadBalancer IP fails; another node takes the address over and the host keeps reaching the
Service at the same IP, now served by a replacement pod."""

from __future__ import annotations

import subprocess

import pytest

from conftest import nl

pytestmark = pytest.mark.root

MANIFEST = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: nginx}]
---
apiVersion: v1
kind: Service
metadata: {name: web-lb}
spec:
  type: LoadBalancer
  selector: {app: web}
  ports: [{port: 80}]
"""


def _host_get(url: str) -> subprocess.CompletedProcess:
    return subprocess.run(["curl", "-sS", "-m", "2", url], capture_output=True, text=True)


def _announcer(lab) -> str:
    """The one node whose eth0 carries the LB address (a failed node has no namespace left)."""
    owners = []
    for node in ("node-a", "node-b"):
        if lab.node_netns(node) not in lab.netns():
            continue
        (eth0,) = lab.ip_json("-4", "addr", "show", "dev", "eth0", netns=lab.node_netns(node))
        if any(a["local"] == lab.lb_ip for a in eth0["addr_info"]):
            owners.append(node)
    assert len(owners) == 1, f"exactly one node must hold {lab.lb_ip}, found {owners}"
    return owners[0]


def _node(lab, verb: str, name: str) -> None:
    # A command group's options follow its subcommand: netlab node VERB --cluster NAME NODE.
    nl("node", verb, "--cluster", lab.name, name)


def test_the_load_balancer_ip_moves_to_a_healthy_node_when_its_node_fails(lab, wait_until):
    lab.apply(MANIFEST, "lb-failover")
    svc = lab.get_json("svc", "web-lb")
    lab.lb_ip = svc["status"]["loadBalancer"]["ingress"][0]["ip"]
    url = f"http://{lab.lb_ip}/"
    assert "pod=web-" in wait_until(lambda: _host_get(url).stdout, timeout=10, what="the LB answers")
    first = _announcer(lab)

    _node(lab, "fail", first)
    try:
        survivor = "node-b" if first == "node-a" else "node-a"
        assert _announcer(lab) == survivor
        answer = wait_until(lambda: _host_get(url).stdout, timeout=5, what="the LB answers after the fail")
        assert f"node={survivor}" in answer
    finally:
        _node(lab, "recover", first)
