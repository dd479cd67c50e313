"""The Kubernetes docs' own tasks, typed as written with `netlab` in place of `kubectl`:
"Debugging DNS Resolution" (kubernetes.io/docs/tasks/administer-cluster/dns-debugging-resolution),
"Debug Services" (kubernetes.io/docs/tasks/debug/debug-application/debug-service) and the
tutorial "Connecting Applications with Services"
(kubernetes.io/docs/tutorials/services/connect-applications-service). Each test is one task's
steps in order, asserting on what the page says the reader sees. Also the Service every cluster
has, `default/kubernetes`, and the control plane's HTTPS endpoint behind it."""

from __future__ import annotations

import json
import os
import signal

import pytest
from conftest import sh

from netlab import naming

pytestmark = [pytest.mark.root, pytest.mark.every_kube_proxy_mode]

# https://k8s.io/examples/admin/dns/dnsutils.yaml
DNSUTILS = """
apiVersion: v1
kind: Pod
metadata:
  name: dnsutils
  namespace: default
spec:
  containers:
  - name: dnsutils
    image: registry.k8s.io/e2e-test-images/agnhost:2.39
    imagePullPolicy: IfNotPresent
  restartPolicy: Always
"""


@pytest.fixture(scope="module")
def dnsutils(lab):
    out = lab.apply(DNSUTILS, "dnsutils")
    assert "pod/dnsutils created" in out.stdout
    lab.wait_running("dnsutils")
    return lab


def first_service_ip(lab) -> str:
    return str(lab.ranges.service.network_address + 1)


def apiserver_address(lab) -> str:
    return str(lab.ranges.underlay.network_address + 2)


# -- Debugging DNS Resolution ------------------------------------------------------------------


def test_debugging_dns_resolution(dnsutils):
    lab = dnsutils
    row = lab.nl("get", "pods", "dnsutils").stdout.splitlines()[1].split()
    assert row[:4] == ["dnsutils", "1/1", "Running", "0"]

    # "If you see something like the following, DNS is working correctly."
    out = lab.nl("exec", "-i", "-t", "dnsutils", "--", "nslookup", "kubernetes.default")
    assert f"Server:\t\t{lab.dns_ip}" in out.stdout
    assert "Name:\tkubernetes.default.svc.cluster.local" in out.stdout
    assert f"Address: {first_service_ip(lab)}" in out.stdout
    assert "recursion not available" not in out.stdout + out.stderr

    resolv = lab.nl("exec", "-ti", "dnsutils", "--", "cat", "/etc/resolv.conf").stdout
    assert resolv.splitlines() == [
        "search default.svc.cluster.local svc.cluster.local cluster.local", f"nameserver {lab.dns_ip}", "options ndots:5"
    ]

    # "Check if the DNS pod is running"
    rows = lab.nl("get", "pods", "--namespace=kube-system", "-l", "k8s-app=kube-dns").stdout.splitlines()[1:]
    assert len(rows) == 2 and all(r.split()[1:3] == ["1/1", "Running"] for r in rows)
    assert lab.nl("logs", "--namespace=kube-system", "-l", "k8s-app=kube-dns").returncode == 0

    # "Is DNS service up?" / "Are DNS endpoints exposed?"
    services = lab.nl("get", "svc", "--namespace=kube-system").stdout.splitlines()
    assert services[1].split()[:5] == ["kube-dns", "ClusterIP", lab.dns_ip, "<none>", "53/UDP,53/TCP"]
    endpoints = lab.nl("get", "endpoints", "kube-dns", "--namespace=kube-system").stdout.splitlines()[1].split()
    assert endpoints[0] == "kube-dns" and endpoints[1].count(":53") == 2
    slices = lab.nl("get", "endpointslices", "-l", "kubernetes.io/service-name=kube-dns", "--namespace=kube-system").stdout
    assert slices.splitlines()[1].split()[1:3] == ["IPv4", "53,53"]

    # "Are you in the right namespace for the service?"
    out = lab.nl("exec", "-i", "-t", "dnsutils", "--", "nslookup", "kube-dns.kube-system").stdout
    assert f"Address: {lab.dns_ip}" in out


# -- default/kubernetes and the control plane's endpoint ---------------------------------------


def test_every_cluster_has_default_kubernetes_on_the_first_service_address(dnsutils):
    lab = dnsutils
    row = lab.nl("get", "svc", "kubernetes").stdout.splitlines()[1].split()
    assert row[:5] == ["kubernetes", "ClusterIP", first_service_ip(lab), "<none>", "443/TCP"]
    assert lab.nl("get", "endpoints", "kubernetes").stdout.splitlines()[1].split()[1] == f"{apiserver_address(lab)}:6443"
    service = lab.get_json("svc", "kubernetes")
    assert service["spec"]["ports"] == [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]


def test_the_apiserver_answers_health_and_version_over_https_from_a_pod(dnsutils):
    lab = dnsutils
    for path in ("healthz", "readyz", "livez"):
        assert lab.exec("dnsutils", "curl", "-sk", "-m", "5", f"https://kubernetes.default/{path}").stdout == "ok"
    version = json.loads(lab.exec("dnsutils", "curl", "-sk", "-m", "5", "https://kubernetes.default.svc.cluster.local/version").stdout)
    assert version["gitVersion"] == f"v{version['major']}.{version['minor']}.0"
    # the Service variables every container gets point at it too
    env = lab.exec("dnsutils", "printenv").stdout.splitlines()
    assert f"KUBERNETES_SERVICE_HOST={first_service_ip(lab)}" in env and "KUBERNETES_SERVICE_PORT_HTTPS=443" in env


def test_the_endpoint_listens_on_the_lab_address_alone_and_comes_back_when_killed(dnsutils, wait_until):
    lab = dnsutils
    listening = lab.in_netns(f"{lab.name}.fabric", "ss", "-Hltn").stdout.split()
    assert f"{apiserver_address(lab)}:6443" in listening and "0.0.0.0:6443" not in listening and "*:6443" not in listening
    assert not [w for w in sh("ss", "-Hltn").stdout.split() if w.endswith(":6443")]  # nothing in the host's own namespace

    pidfile = os.path.join(naming.cluster_dir(lab.name), "apiserver", "apiserver.pid")
    pid = int(open(pidfile).read().split()[0])
    os.kill(pid, signal.SIGKILL)

    def healthy_again() -> bool:
        now = int(open(pidfile).read().split()[0])
        done = lab.exec("dnsutils", "curl", "-sk", "-m", "2", "https://kubernetes.default/healthz", check=False)
        return now != pid and done.stdout == "ok"

    wait_until(healthy_again, timeout=15, what="the control plane starts its endpoint again")
