"""kube-proxy's NodePort, LoadBalancer, external IP, traffic policy and session affinity cases:
the inputs of tests/unit/test_proxy_service_types.py and tests/integration/test_rules_restore.py."""

from __future__ import annotations

from netlab.proxy import Endpoint, ProxyConfig, ServicePortInfo

NODE_A = ProxyConfig(cluster_cidr="10.244.0.0/16", node_name="node-a", node_ip="172.31.255.11")
NODE_B = ProxyConfig(cluster_cidr="10.244.0.0/16", node_name="node-b", node_ip="172.31.255.12")


def ep(ip: str, node: str, port: int = 8080) -> Endpoint:
    return Endpoint(ip=ip, port=port, node=node)


TWO = (ep("10.244.1.2", "node-a"), ep("10.244.2.2", "node-b"))
ONLY_A = (ep("10.244.1.2", "node-a"),)


def web(name: str = "web", endpoints=TWO, **fields) -> ServicePortInfo:
    return ServicePortInfo("default", name, "", "TCP", "10.96.0.20", 80, endpoints, **fields)


GOLDEN_CASES = {
    "nodeport_cluster_policy": ([web(node_port=30080)], NODE_A),
    "nodeport_no_endpoints": ([web(endpoints=(), node_port=30080)], NODE_A),
    "loadbalancer_source_ranges": (
        [web(node_port=31000, load_balancer_ips=("172.31.255.200",), load_balancer_source_ranges=("172.31.255.0/24", "203.0.113.0/25"))],
        NODE_A,
    ),
    "external_ip": ([web(external_ips=("172.31.255.100",))], NODE_A),
    "external_local_with_local_endpoint": (
        [web(node_port=30080, load_balancer_ips=("172.31.255.200",), external_traffic_policy="Local")],
        NODE_A,
    ),
    "external_local_without_local_endpoint": (
        [web(endpoints=ONLY_A, node_port=30080, load_balancer_ips=("172.31.255.200",), external_traffic_policy="Local")],
        NODE_B,
    ),
    "internal_local_without_local_endpoint": ([web(endpoints=ONLY_A, internal_traffic_policy="Local")], NODE_B),
    "session_affinity": ([web(session_affinity="ClientIP", sticky_max_age_seconds=60)], NODE_A),
}
