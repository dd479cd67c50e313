"""kube-proxy in IPv6: every iptables and nftables golden case again, with each address moved to
its IPv6 counterpart in a dual-stack lab (kind's defaults: pods fd00:10:244::/56, a /64 per
node; services fd00:10:96::/112; underlay fd00:172:31:255::/64). The Services, endpoints and
nodes are the same, so the v6 payload differs from the v4 one only where the family does.

Used by tests/unit/test_proxy_v6.py (golden text) and by tests/integration/test_rules_restore.py
and test_nft_mode.py (ip6tables-restore and `nft -f` accept every case).
"""

from __future__ import annotations

import ipaddress
from dataclasses import replace

from cases import proxy_nft, proxy_render, proxy_service_types
from netlab.proxy import ProxyConfig, ServicePortInfo

# IPv4 prefix -> the IPv6 prefix that replaces it, longest first. Host bits carry over as
# hexadecimal digits read from the decimal octets (10.244.1.2 -> fd00:10:244:1::2), the way
# netlab's dual-stack addressing writes node numbers.
_NETWORKS = (
    ("10.244.0.0/16", "fd00:10:244::/56"),
    ("10.96.0.0/12", "fd00:10:96::/112"),
    ("172.31.255.0/24", "fd00:172:31:255::/64"),
    ("203.0.113.0/25", "2001:db8:113::/64"),
)


def v6_address(ip: str) -> str:
    a, b, c, d = ip.split(".")
    if ip.startswith("10.244."):
        return str(ipaddress.ip_address(f"fd00:10:244:{c}::{d}"))
    if ip.startswith("10.96."):
        return str(ipaddress.ip_address(f"fd00:10:96::{c}:{d}"))
    if ip.startswith("172.31.255."):
        return str(ipaddress.ip_address(f"fd00:172:31:255::{d}"))
    raise ValueError(f"no IPv6 counterpart for {ip}")


def v6_network(cidr: str) -> str:
    return dict(_NETWORKS)[cidr]


def v6_port(port: ServicePortInfo) -> ServicePortInfo:
    return replace(
        port,
        cluster_ip=v6_address(port.cluster_ip),
        endpoints=tuple(replace(e, ip=v6_address(e.ip)) for e in port.endpoints),
        external_ips=tuple(map(v6_address, port.external_ips)),
        load_balancer_ips=tuple(map(v6_address, port.load_balancer_ips)),
        load_balancer_source_ranges=tuple(map(v6_network, port.load_balancer_source_ranges)),
    )


def v6_config(config: ProxyConfig) -> ProxyConfig:
    return replace(
        config,
        family=6,
        cluster_cidr=v6_network(config.cluster_cidr),
        node_ip=v6_address(config.node_ip) if config.node_ip else "",
        service_cidr=v6_network(config.service_cidr) if config.service_cidr else "",
    )


# tests/unit/golden/proxy-v6/<case>.txt: the iptables cases (ClusterIP and the service types).
IPTABLES_CASES: dict[str, tuple[list[ServicePortInfo], ProxyConfig]] = {
    **{name: ([v6_port(p) for p in ports], v6_config(proxy_render.CONFIG)) for name, ports in proxy_render.GOLDEN_CASES.items()},
    **{
        name: ([v6_port(p) for p in ports], v6_config(config))
        for name, (ports, config) in proxy_service_types.GOLDEN_CASES.items()
    },
}

# tests/unit/golden/proxy-nft-v6/<case>.nft: the nftables cases.
NFT_CASES: dict[str, tuple[list[ServicePortInfo], ProxyConfig]] = {
    name: ([v6_port(p) for p in ports], v6_config(config)) for name, (ports, config) in proxy_nft.GOLDEN_CASES.items()
}
