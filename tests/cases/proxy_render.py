"""kube-proxy's ClusterIP cases: the inputs of tests/unit/test_proxy_render.py (checked as text
against golden files) and of tests/integration/test_rules_restore.py (loaded by iptables-restore)."""

from __future__ import annotations

from netlab.proxy import Endpoint, ProxyConfig, ServicePortInfo

CONFIG = ProxyConfig(cluster_cidr="10.244.0.0/16")


def web(*endpoints: Endpoint, name: str = "web", cluster_ip: str = "10.96.0.20") -> ServicePortInfo:
    return ServicePortInfo("default", name, "http", "TCP", cluster_ip, 80, tuple(endpoints))


def ep(ip: str, node: str, *, ready: bool = True, port: int = 8080, pod: str = "") -> Endpoint:
    return Endpoint(ip=ip, port=port, node=node, ready=ready, pod=pod)


def kube_dns() -> list[ServicePortInfo]:
    coredns = (ep("10.244.1.3", "node-a", port=53), ep("10.244.2.3", "node-b", port=53))
    metrics = (ep("10.244.1.3", "node-a", port=9153), ep("10.244.2.3", "node-b", port=9153))
    return [
        ServicePortInfo("kube-system", "kube-dns", "dns", "UDP", "10.96.0.10", 53, coredns),
        ServicePortInfo("kube-system", "kube-dns", "dns-tcp", "TCP", "10.96.0.10", 53, coredns),
        ServicePortInfo("kube-system", "kube-dns", "metrics", "TCP", "10.96.0.10", 9153, metrics),
    ]


GOLDEN_CASES = {
    "one_service_two_nodes": [web(ep("10.244.1.2", "node-a"), ep("10.244.2.2", "node-b"))],
    "no_endpoints": [ServicePortInfo("default", "lonely", "", "TCP", "10.96.0.30", 80, ())],
    "kube_dns_tcp_udp": kube_dns(),
    "three_endpoints": [web(ep("10.244.1.2", "node-a"), ep("10.244.1.5", "node-a"), ep("10.244.2.2", "node-b"))],
    "not_ready_excluded": [
        web(ep("10.244.1.2", "node-a"), ep("10.244.1.5", "node-a", ready=False), ep("10.244.2.2", "node-b")),
        web(ep("10.244.2.7", "node-b", ready=False), name="starting", cluster_ip="10.96.0.21"),
    ],
}


def several_services() -> list[ServicePortInfo]:
    """One lab's worth of distinct service ports: kube-dns, an empty one, a partly ready one."""
    return [*kube_dns(), *GOLDEN_CASES["no_endpoints"], *GOLDEN_CASES["not_ready_excluded"]]
