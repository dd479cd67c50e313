"""Chain names match the ones kube-proxy gives the same Service on a real node."""

import pytest

from netlab.proxy import names

# Expected names copied from upstream: kubernetes/kubernetes pkg/proxy/iptables/proxier_test.go
# golden dumps (ns1/svc1, ns2/svc2) and the iptables-save of any kubeadm cluster (kube-dns,
# kubernetes), which are the same on every cluster because the hash has no cluster input.
SERVICE_VECTORS = [
    ("ns1/svc1:p80", "TCP", "KUBE-SVC-XPGD46QRK7WJZT7O"),
    ("ns2/svc2:p8080", "TCP", "KUBE-SVC-2VJB64SDSIJUP5T6"),
    ("ns2/svc2:p80", "TCP", "KUBE-SVC-GNZBNJ2PO5MGZ6GT"),
    ("default/kubernetes:https", "TCP", "KUBE-SVC-NPX46M4PTMTKRN6Y"),
    ("kube-system/kube-dns:dns", "UDP", "KUBE-SVC-TCOU7JCQXEZGVUNU"),
    ("kube-system/kube-dns:dns-tcp", "TCP", "KUBE-SVC-ERIFXISQEP7F7OF4"),
    ("kube-system/kube-dns:metrics", "TCP", "KUBE-SVC-JD5MR3NA4I4DYORP"),
]
ENDPOINT_VECTORS = [
    ("ns1/svc1:p80", "TCP", "10.180.0.1:80", "KUBE-SEP-SXIVWICOYRO3J4NJ"),
    ("ns1/svc1:p80", "TCP", "10.0.1.1:80", "KUBE-SEP-SNQ3ZNILQDEJNDQO"),
    ("ns2/svc2:p8080", "TCP", "10.0.2.1:8080", "KUBE-SEP-UHEGFW77JX3KXTOV"),
]


@pytest.mark.parametrize(("port_name", "protocol", "expected"), SERVICE_VECTORS)
def test_service_chain_is_upstreams(port_name, protocol, expected):
    assert names.service_chain(port_name, protocol) == expected


@pytest.mark.parametrize(("port_name", "protocol", "endpoint", "expected"), ENDPOINT_VECTORS)
def test_endpoint_chain_is_upstreams(port_name, protocol, endpoint, expected):
    assert names.endpoint_chain(port_name, protocol, endpoint) == expected


def test_protocol_is_hashed_lower_case_so_tcp_and_udp_differ():
    assert names.service_chain("kube-system/kube-dns:dns", "UDP") == names.service_chain(
        "kube-system/kube-dns:dns", "udp"
    )
    assert names.service_chain("ns/a:p", "TCP") != names.service_chain("ns/a:p", "UDP")


def test_service_port_name_omits_the_colon_for_an_unnamed_port():
    assert names.service_port_name("default", "web", "http") == "default/web:http"
    assert names.service_port_name("default", "web", "") == "default/web"


def test_names_fit_iptables_chain_limit():
    long_name = names.service_port_name("n" * 63, "s" * 63, "p" * 15)
    assert len(names.service_chain(long_name, "TCP")) == 25 <= 28
    assert len(names.endpoint_chain(long_name, "TCP", "10.244.255.254:65535")) == 25


def test_a_name_is_hashed_once_then_remembered():
    names._hash16.cache_clear()
    first = names.service_chain("ns1/svc1:p80", "TCP")
    assert names.service_chain("ns1/svc1:p80", "TCP") == first == "KUBE-SVC-XPGD46QRK7WJZT7O"
    assert names.local_chain("ns1/svc1:p80", "TCP") == "KUBE-SVL-XPGD46QRK7WJZT7O"  # same hash
    info = names._hash16.cache_info()
    assert (info.misses, info.hits) == (1, 2)
