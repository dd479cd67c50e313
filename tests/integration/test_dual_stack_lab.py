"""Dual-stack and IPv6-only labs (issue 17): every pod has an address per family, pods reach
each other across nodes over both, the cluster DNS answers A and AAAA (and ip6.arpa), and a
pod's files and Downward API name both addresses. Services over IPv6 are kube-proxy's part
(test_services.py and friends run over both families once kube-proxy programs family 6)."""

from __future__ import annotations

from ipaddress import ip_address, ip_network

import pytest

pytestmark = [pytest.mark.root]

PODS = """
apiVersion: v1
kind: Pod
metadata: {name: server, labels: {app: web}}
spec:
  nodeName: node-a
  containers: [{name: web, image: registry.k8s.io/e2e-test-images/agnhost:2.53, args: [netexec, --http-port=8080]}]
---
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  nodeName: node-b
  containers:
  - name: client
    image: busybox
    command: [sleep, infinity]
    env:
    - {name: MY_IPS, valueFrom: {fieldRef: {fieldPath: status.podIPs}}}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  ipFamilyPolicy: PreferDualStack
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: headless}
spec:
  clusterIP: None
  ipFamilyPolicy: RequireDualStack
  selector: {app: web}
  ports: [{port: 8080}]
"""


@pytest.fixture(scope="module")
def dual(dual_lab):
    dual_lab.apply(PODS, "dual")
    dual_lab.wait_running("server", "client")
    return dual_lab


def test_every_pod_has_an_address_in_each_family_from_its_nodes_subnets(dual):
    ips = dual.pod_ips("server")
    assert set(ips) == {4, 6}
    assert ip_address(ips[4]) in dual.ranges.pod and ip_address(ips[6]) in dual.ranges.pod6
    assert dual.pod("server")["status"]["podIP"] == ips[4]  # IPv4 is the primary family
    # host-local IPAM hands out the same host number in both families.
    assert int(ip_address(ips[4])) & 0xFF == int(ip_address(ips[6])) & 0xFF
    addresses = dual.exec("server", "ip", "-6", "addr", "show", "dev", "eth0").stdout
    assert f"{ips[6]}/64" in addresses and "tentative" not in addresses
    routes = dual.exec("server", "ip", "-6", "route").stdout
    assert "default via " in routes


@pytest.mark.parametrize("family", (4, 6))
def test_a_pod_reaches_a_pod_on_another_node_in_each_family(dual, family):
    server = dual.pod_ips("server")[family]
    url = f"http://[{server}]:8080/clientip" if family == 6 else f"http://{server}:8080/clientip"
    answer = dual.exec("client", "curl", "-s", "-m", "5", url).stdout
    # agnhost answers with the caller's address: the client's own, unNATed, in the same family.
    assert answer.rsplit(":", 1)[0].strip("[]") == dual.pod_ips("client")[family]


def test_a_dual_stack_service_has_a_cluster_ip_in_each_family(dual):
    ips = dual.cluster_ips("web")
    assert set(ips) == {4, 6}
    assert ip_address(ips[4]) in dual.ranges.service and ip_address(ips[6]) in dual.ranges.service6
    spec = dual.get_json("svc", "web")["spec"]
    assert (spec["ipFamilies"], spec["ipFamilyPolicy"]) == (["IPv4", "IPv6"], "PreferDualStack")


@pytest.mark.parametrize(("rdtype", "family"), (("A", 4), ("AAAA", 6)))
def test_the_cluster_dns_answers_each_family(dual, rdtype, family):
    dig = ("dig", "+short", "+time=2", "+tries=1")
    assert dual.exec("client", *dig, rdtype, "web.default.svc.cluster.local").stdout.split() == [dual.cluster_ips("web")[family]]
    headless = dual.exec("client", *dig, rdtype, "headless.default.svc.cluster.local").stdout.split()
    assert headless == [dual.pod_ips("server")[family]]
    dashed = dual.pod_ips("client")[family].replace(".", "-").replace(":", "-")
    assert dual.exec("client", *dig, rdtype, f"{dashed}.default.pod.cluster.local").stdout.split() == [dual.pod_ips("client")[family]]


def test_the_dns_server_answers_over_ipv6_and_names_ipv6_addresses(dual):
    coredns = dual.get_json("pods", "-n", "kube-system")["items"][0]
    server6 = next(e["ip"] for e in coredns["status"]["podIPs"] if ":" in e["ip"])
    answer = dual.exec("client", "dig", "+short", "+time=2", "+tries=1", f"@{server6}", "AAAA", "web.default.svc.cluster.local")
    assert answer.stdout.split() == [dual.cluster_ips("web")[6]]
    reverse = dual.exec("client", "dig", "+short", "+time=2", "+tries=1", "-x", dual.cluster_ips("web")[6]).stdout
    assert reverse.split() == ["web.default.svc.cluster.local."]


def test_the_pod_files_and_downward_api_name_both_addresses(dual):
    ips = dual.pod_ips("client")
    hosts = dual.exec("client", "cat", "/etc/hosts").stdout
    assert f"{ips[4]}\tclient" in hosts and f"{ips[6]}\tclient" in hosts
    env = dual.exec("client", "printenv", "MY_IPS").stdout.strip()
    assert env == f"{ips[4]},{ips[6]}"
    described = dual.nl("describe", "pod", "client").stdout
    assert f"  IP:  {ips[6]}" in described


def test_the_host_guards_both_families_of_the_lab(dual):
    from conftest import host_guard_routes

    guarded = host_guard_routes()
    for network in (dual.ranges.pod6, dual.ranges.service6, dual.ranges.underlay6):
        assert network in guarded


def test_a_service_asking_for_a_family_the_lab_lacks_is_refused(lab):
    result = lab.apply(
        """
apiVersion: v1
kind: Service
metadata: {name: v6only}
spec:
  ipFamilies: [IPv6]
  selector: {app: web}
  ports: [{port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: both}
spec:
  ipFamilyPolicy: RequireDualStack
  selector: {app: web}
  ports: [{port: 80}]
""",
        check=False,
    )
    assert result.returncode == 3  # invalid input
    assert 'spec.ipFamilies[0]: Invalid value: "IPv6": not configured on this cluster' in result.stderr
    assert "this cluster is not configured for dual-stack services" in result.stderr
    assert lab.nl("get", "svc", "v6only", check=False).returncode != 0



def test_an_ipv6_only_lab_runs_pods_services_and_dns_in_ipv6(tmp_path):
    from conftest import create_lab, delete_lab

    lab = create_lab(tmp_path / "v6", ip_family="ipv6")
    try:
        pods = PODS.split("---\napiVersion: v1\nkind: Service")[0]
        lab.apply(pods + "---\napiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n"
                  "  selector: {app: web}\n  ports: [{port: 80, targetPort: 8080}]\n", "v6")
        lab.wait_running("server", "client")
        server = lab.pod("server")["status"]["podIP"]
        assert ip_network(server).version == 6
        assert lab.exec("client", "curl", "-s", "-m", "5", f"http://[{server}]:8080/hostname").stdout == "server"
        service = lab.get_json("svc", "web")["spec"]
        assert (service["ipFamilies"], ip_address(service["clusterIP"]) in lab.ranges.service6) == (["IPv6"], True)
        # By name: the cluster DNS (an IPv6 nameserver) answers AAAA, kube-proxy's ip6tables DNAT.
        assert lab.exec("client", "curl", "-s", "-m", "5", "http://web/hostname").stdout == "server"
        resolv = lab.exec("client", "cat", "/etc/resolv.conf").stdout
        assert f"nameserver {lab.ranges.service6.network_address + 10}" in resolv
    finally:
        delete_lab(lab)


@pytest.mark.parametrize("family", (4, 6))
def test_a_host_port_is_forwarded_in_each_family(dual, family):
    dual.apply(
        """
apiVersion: v1
kind: Pod
metadata: {name: hostport}
spec:
  nodeName: node-a
  containers: [{name: web, image: nginx, ports: [{containerPort: 80, hostPort: 8088}]}]
""",
        "hostport",
    )
    dual.wait_running("hostport")
    underlay = dual.ranges.underlay if family == 4 else dual.ranges.underlay6
    node_a = underlay.network_address + (11 if family == 4 else 0x11)
    url = f"http://{node_a}:8088/" if family == 4 else f"http://[{node_a}]:8088/"
    answer = dual.exec("client", "curl", "-s", "-m", "5", url).stdout
    assert "pod=hostport " in answer
