"""kubectl's habits on a real lab: the pod fields that change what a container sees (DNS,
Service variables, the Downward API) and the commands and flags users type from kubectl."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.root

SERVICE_AND_BACKEND = """
apiVersion: v1
kind: Pod
metadata: {name: backend, labels: {app: web, tier: front}}
spec:
  containers: [{name: web, image: example.com/web:1, ports: [{containerPort: 8080}]}]
---
apiVersion: v1
kind: Service
metadata: {name: web-front}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}]
"""

CLIENTS = """
apiVersion: v1
kind: Pod
metadata: {name: envpod, labels: {app: client}, annotations: {team: net}}
spec:
  containers:
    - name: c
      image: busybox
      command: ["sh", "-c", "echo started $(MY_IP) '$$(NOT_EXPANDED)'; sleep infinity"]
      env:
        - {name: MY_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
        - {name: MY_NODE, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}
        - {name: MY_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
        - {name: MY_NS, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}
        - {name: MY_UID, valueFrom: {fieldRef: {fieldPath: metadata.uid}}}
        - {name: MY_APP, valueFrom: {fieldRef: {fieldPath: "metadata.labels['app']"}}}
        - {name: MY_TEAM, valueFrom: {fieldRef: {fieldPath: "metadata.annotations['team']"}}}
        - {name: MY_HOST_IP, valueFrom: {fieldRef: {fieldPath: status.hostIP}}}
        - {name: MY_SA, valueFrom: {fieldRef: {fieldPath: spec.serviceAccountName}}}
        - {name: BACKEND_URL, value: "http://$(WEB_FRONT_SERVICE_HOST):$(WEB_FRONT_SERVICE_PORT_HTTP)/"}
---
apiVersion: v1
kind: Pod
metadata: {name: nolinks}
spec:
  enableServiceLinks: false
  containers: [{name: c, image: busybox, command: ["sleep", "infinity"]}]
---
apiVersion: v1
kind: Pod
metadata: {name: dns-none}
spec:
  dnsPolicy: "None"
  dnsConfig:
    nameservers: [DNS_IP]
    searches: [svc.cluster.local, corp.example]
    options: [{name: ndots, value: "2"}, {name: edns0}]
  containers: [{name: c, image: busybox, command: ["sleep", "infinity"]}]
---
apiVersion: v1
kind: Pod
metadata: {name: dns-merged}
spec:
  dnsConfig:
    searches: [corp.example]
    options: [{name: ndots, value: "1"}]
  containers: [{name: c, image: busybox, command: ["sleep", "infinity"]}]
---
apiVersion: v1
kind: Pod
metadata: {name: dns-default}
spec:
  dnsPolicy: Default
  containers: [{name: c, image: busybox, command: ["sleep", "infinity"]}]
"""


@pytest.fixture(scope="module")
def shop(lab):
    lab.apply(SERVICE_AND_BACKEND, "backend")
    lab.wait_running("backend")
    lab.apply(CLIENTS.replace("DNS_IP", lab.dns_ip), "clients")
    lab.wait_running("envpod", "nolinks", "dns-none", "dns-merged", "dns-default")
    return lab


def env_of(lab, pod: str) -> dict[str, str]:
    out = lab.exec(pod, "env").stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


# --- the Downward API and Service variables --------------------------------------------------


def test_field_refs_give_the_pod_its_own_identity(shop):
    env = env_of(shop, "envpod")
    pod = shop.pod("envpod")

    assert env["MY_IP"] == shop.pod_ip("envpod")
    assert env["MY_NODE"] == pod["spec"]["nodeName"]
    assert env["MY_NAME"] == "envpod"
    assert env["MY_NS"] == "default"
    assert env["MY_UID"] == pod["metadata"]["uid"]
    assert env["MY_APP"] == "client"
    assert env["MY_TEAM"] == "net"
    assert env["MY_HOST_IP"] == pod["status"]["hostIP"]
    assert env["MY_SA"] == "default"


def test_service_variables_reach_the_service_with_real_traffic(shop):
    env = env_of(shop, "envpod")
    ip = shop.cluster_ip("web-front")

    assert env["WEB_FRONT_SERVICE_HOST"] == ip
    assert env["WEB_FRONT_SERVICE_PORT"] == "80"
    assert env["WEB_FRONT_SERVICE_PORT_HTTP"] == "80"
    assert env["WEB_FRONT_PORT"] == f"tcp://{ip}:80"
    assert env["WEB_FRONT_PORT_80_TCP_ADDR"] == ip
    assert env["BACKEND_URL"] == f"http://{ip}:80/"
    # The variable is a working address: the pod reaches the backend through it.
    answer = shop.exec("envpod", "sh", "-c", 'curl -sS -m 3 "$BACKEND_URL"').stdout
    assert "backend" in answer


def test_enable_service_links_false_leaves_them_out(shop):
    env = env_of(shop, "nolinks")

    assert not any(k.startswith("WEB_FRONT_") for k in env)


def test_command_is_expanded_like_the_kubelet(shop, wait_until):
    ip = shop.pod_ip("envpod")
    logs = wait_until(lambda: shop.nl("logs", "envpod").stdout, what="envpod's first line")

    assert logs.splitlines()[0] == f"started {ip} $(NOT_EXPANDED)"


# --- dnsPolicy and dnsConfig -> /etc/resolv.conf -------------------------------------------------


def test_dns_policy_none_takes_only_dns_config_and_resolves(shop):
    conf = shop.exec("dns-none", "cat", "/etc/resolv.conf").stdout

    assert conf == f"search svc.cluster.local corp.example\nnameserver {shop.dns_ip}\noptions ndots:2 edns0\n"
    # "web-front.default" is completed by the search path "svc.cluster.local".
    answer = shop.exec("dns-none", "nslookup", "web-front.default").stdout
    assert shop.cluster_ip("web-front") in answer


def test_dns_config_is_merged_into_cluster_first(shop):
    conf = shop.exec("dns-merged", "cat", "/etc/resolv.conf").stdout

    assert conf == (
        "search default.svc.cluster.local svc.cluster.local cluster.local corp.example\n"
        f"nameserver {shop.dns_ip}\noptions ndots:1\n"
    )


def test_dns_policy_default_gives_the_nodes_resolver_which_has_no_upstream(shop):
    conf = shop.exec("dns-default", "cat", "/etc/resolv.conf").stdout

    assert shop.dns_ip not in conf
    assert "nameserver" not in conf
