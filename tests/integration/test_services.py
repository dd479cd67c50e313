"""Seed: Services — one stable IP in front of changing pods, TCP and UDP, named ports,
an IP you choose, spreading load, and a clear "no" when nobody is behind it."""

from __future__ import annotations

import time
from collections import Counter
from ipaddress import IPv4Address

import pytest

pytestmark = [pytest.mark.root, pytest.mark.every_kube_proxy_mode]

AGNHOST = "registry.k8s.io/e2e-test-images/agnhost:2.47"

NETEXEC = f"""
apiVersion: v1
kind: Pod
metadata: {{name: net-1, labels: {{app: netexec}}}}
spec:
  nodeName: node-a
  containers:
  - name: netexec
    image: {AGNHOST}
    args: ["netexec", "--http-port=8080", "--udp-port=8081"]
    ports: [{{name: http, containerPort: 8080}}, {{name: udp, containerPort: 8081, protocol: UDP}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: net-2, labels: {{app: netexec}}}}
spec:
  nodeName: node-b
  containers:
  - name: netexec
    image: {AGNHOST}
    args: ["netexec", "--http-port=8080", "--udp-port=8081"]
    ports: [{{name: http, containerPort: 8080}}, {{name: udp, containerPort: 8081, protocol: UDP}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: client}}
spec:
  containers: [{{name: client, image: busybox, command: ["sleep", "infinity"]}}]
---
apiVersion: v1
kind: Service
metadata: {{name: netexec}}
spec:
  selector: {{app: netexec}}
  ports:
  - {{name: http, port: 80, targetPort: http}}
  - {{name: udp, port: 8081, targetPort: udp, protocol: UDP}}
"""

# The same port name means a different number in each pod: kube-proxy resolves it per endpoint.
NAMED_PORT = """
apiVersion: v1
kind: Pod
metadata: {name: named-1, labels: {app: named}}
spec:
  containers: [{name: web, image: example.com/web:1, ports: [{name: web, containerPort: 8080}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: named-2, labels: {app: named}}
spec:
  containers: [{name: web, image: example.com/web:1, ports: [{name: web, containerPort: 9090}]}]
---
apiVersion: v1
kind: Service
metadata: {name: named}
spec:
  selector: {app: named}
  ports: [{port: 80, targetPort: web}]
"""


def _loop(lab, url: str, times: int = 30) -> Counter:
    """`times` requests from the client pod in one exec; the answers counted."""
    script = f'for i in $(seq {times}); do curl -s -m 3 "{url}"; echo; done'
    out = lab.exec("client", "sh", "-c", script).stdout
    return Counter(line.strip() for line in out.splitlines() if line.strip())


@pytest.fixture(scope="module")
def svc(lab):
    lab.apply(NETEXEC, "netexec")
    lab.apply(NAMED_PORT, "named")
    lab.wait_running("net-1", "net-2", "client", "named-1", "named-2")
    return lab


def test_a_tcp_port_of_a_multi_port_service_reaches_agnhost_netexec(svc):
    answer = svc.exec("client", "curl", "-sS", "-m", "3", "http://netexec/hostname").stdout

    assert answer in ("net-1", "net-2")


def test_the_tcp_port_accepts_connections_on_the_cluster_ip(svc):
    result = svc.exec("client", "nc", "-z", "-w", "2", svc.cluster_ip("netexec"), "80", check=False)

    assert result.returncode == 0, result.stderr


def test_the_udp_port_of_the_same_service_answers_over_udp(svc):
    ip = svc.cluster_ip("netexec")

    answer = svc.exec("client", "nc", "-u", "-w", "1", ip, "8081", stdin="hostname\n").stdout

    assert answer.strip() in ("net-1", "net-2")


def test_one_pod_dials_the_service_over_udp_through_agnhost(svc):
    ip = svc.cluster_ip("netexec")
    url = f"http://{svc.pod_ip('net-1')}:8080/dial?request=hostname&host={ip}&port=8081&protocol=udp&tries=1"

    answer = svc.exec("client", "curl", "-sS", "-m", "5", url).stdout

    assert '"responses":["net-' in answer.replace(" ", "")


def test_thirty_requests_through_the_service_reach_both_backends(svc):
    answers = _loop(svc, "http://netexec/hostname")

    assert set(answers) == {"net-1", "net-2"}
    assert sum(answers.values()) == 30


def test_a_named_target_port_resolves_to_each_pods_own_port_number(svc):
    endpoints = svc.get_json("endpoints", "named")
    ports = sorted(p["port"] for subset in endpoints["subsets"] for p in subset["ports"])
    answers = _loop(svc, "http://named/")

    assert ports == [8080, 9090]
    # The built-in web server answers `pod=NAME namespace=… ip=… client=…`.
    assert {a.split()[0] for a in answers} == {"pod=named-1", "pod=named-2"}


def test_a_service_keeps_the_cluster_ip_it_asks_for(svc):
    wanted = str(svc.ranges.service.network_address + 200)
    svc.apply(
        f"""
apiVersion: v1
kind: Service
metadata: {{name: fixed}}
spec:
  clusterIP: {wanted}
  selector: {{app: netexec}}
  ports: [{{port: 80, targetPort: 8080}}]
""",
        "fixed",
    )

    assert svc.cluster_ip("fixed") == wanted
    assert svc.exec("client", "curl", "-sS", "-m", "3", f"http://{wanted}/hostname").stdout in ("net-1", "net-2")


def test_a_service_without_ready_endpoints_refuses_the_connection_at_once(svc):
    svc.apply(
        """
apiVersion: v1
kind: Service
metadata: {name: nobody}
spec:
  selector: {app: nobody-is-here}
  ports: [{port: 80, targetPort: 8080}]
""",
        "nobody",
    )
    ip = svc.cluster_ip("nobody")
    assert IPv4Address(ip) in svc.ranges.service

    started = time.monotonic()
    result = svc.exec("client", "curl", "-sSv", "-m", "3", f"http://{ip}/", check=False)
    elapsed = time.monotonic() - started

    # kube-proxy REJECTs (ICMP port unreachable), which connect() reports as ECONNREFUSED:
    # curl's exit 7 "couldn't connect" (its -v line names the errno), not a 3 s timeout (28).
    assert result.returncode == 7, result.stderr
    assert "Connection refused" in result.stderr
    assert elapsed < 2.0
