"""Seed: cluster DNS — a Service's name is enough, every pod knows its own name, and the
lab's DNS answers only for the cluster (nothing is forwarded off the machine)."""

from __future__ import annotations

import time

import pytest

pytestmark = [pytest.mark.root, pytest.mark.every_kube_proxy_mode]

SETUP = """
apiVersion: v1
kind: Namespace
metadata: {name: other}
---
apiVersion: v1
kind: Pod
metadata: {name: dweb, labels: {app: dweb}}
spec:
  containers: [{name: web, image: example.com/web:1, ports: [{containerPort: 8080}]}]
---
apiVersion: v1
kind: Service
metadata: {name: dsvc}
spec:
  selector: {app: dweb}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: osvc, namespace: other}
spec:
  selector: {app: dweb}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Pod
metadata: {name: dclient}
spec:
  containers: [{name: client, image: busybox, command: ["sleep", "infinity"]}]
---
apiVersion: v1
kind: Pod
metadata: {name: named-host}
spec:
  hostname: custom-host
  containers: [{name: client, image: busybox, command: ["sleep", "infinity"]}]
---
apiVersion: v1
kind: Pod
metadata: {name: duo}
spec:
  containers:
  - {name: web, image: example.com/web:1, ports: [{containerPort: 8080}]}
  - {name: side, image: busybox, command: ["sleep", "infinity"]}
"""


@pytest.fixture(scope="module")
def dns(lab):
    lab.apply(SETUP, "dns")
    lab.wait_running("dweb", "dclient", "named-host", "duo")
    return lab


def _dig(lab, *args: str) -> str:
    return lab.exec("dclient", "dig", "+time=2", "+tries=1", *args).stdout


def _status(answer: str) -> str:
    """The `status:` of dig's header (NOERROR, NXDOMAIN, REFUSED, …)."""
    header = next(line for line in answer.splitlines() if "status:" in line)
    return header.split("status:", 1)[1].split(",", 1)[0].strip()


@pytest.mark.parametrize(
    "name, service, namespace",
    [
        ("dsvc", "dsvc", "default"),
        ("dsvc.default", "dsvc", "default"),
        ("dsvc.default.svc.cluster.local", "dsvc", "default"),
        ("osvc.other", "osvc", "other"),
    ],
)
def test_a_service_resolves_by_short_namespaced_and_full_name(dns, name, service, namespace):
    # +search applies resolv.conf's search list, as a program's resolver would.
    answer = _dig(dns, "+short", "+search", name)

    assert answer.split() == [dns.cluster_ip(service, namespace)]


def test_an_unknown_service_is_nxdomain(dns):
    assert _status(_dig(dns, "nope.default.svc.cluster.local")) == "NXDOMAIN"


def test_a_name_outside_the_cluster_is_refused_never_forwarded(dns):
    assert _status(_dig(dns, "example.com")) == "REFUSED"


def test_the_cluster_dns_answers_over_tcp_too(dns):
    answer = _dig(dns, "+tcp", "+short", "dsvc.default.svc.cluster.local")

    assert answer.split() == [dns.cluster_ip("dsvc")]


def test_the_pod_resolv_conf_points_at_the_cluster_dns_with_the_namespace_search_list(dns):
    resolv = dns.exec("dclient", "cat", "/etc/resolv.conf").stdout.split("\n")

    assert f"nameserver {dns.dns_ip}" in resolv
    assert "search default.svc.cluster.local svc.cluster.local cluster.local" in resolv
    assert "options ndots:5" in resolv


def test_a_new_service_is_resolvable_within_a_second_of_apply_returning(dns, wait_until):
    dns.apply(
        """
apiVersion: v1
kind: Service
metadata: {name: late}
spec:
  selector: {app: dweb}
  ports: [{port: 80, targetPort: 8080}]
""",
        "late",
    )
    applied = time.monotonic()
    # Ask from the pod's namespace directly: `netlab exec` costs a Python start per attempt.
    pod_netns = dns.pod_netns("dclient")

    def resolved() -> str:
        out = dns.in_netns(pod_netns, "dig", f"@{dns.dns_ip}", "+short", "+time=1", "+tries=1", "late.default.svc.cluster.local", check=False)
        return out.stdout.strip()

    answer = wait_until(resolved, timeout=1.0, interval=0.02, what="late.default.svc.cluster.local")
    assert time.monotonic() - applied < 1.0
    assert answer == dns.cluster_ip("late")


def test_a_pod_hostname_is_its_name(dns):
    assert dns.exec("dclient", "hostname").stdout.strip() == "dclient"


def test_a_pod_with_spec_hostname_uses_that_name(dns):
    assert dns.exec("named-host", "hostname").stdout.strip() == "custom-host"


def test_the_pod_etc_hosts_maps_its_own_ip_to_its_name(dns):
    hosts = dns.exec("dclient", "cat", "/etc/hosts").stdout
    ip = dns.pod_ip("dclient")

    own = [line.split() for line in hosts.splitlines() if line.split()[:1] == [ip]]
    assert own and "dclient" in own[0][1:]


def test_two_containers_of_one_pod_reach_each_other_on_localhost(dns):
    answer = dns.exec("duo", "curl", "-sS", "-m", "3", "http://localhost:8080/", container="side").stdout

    assert "pod=duo" in answer.split()
