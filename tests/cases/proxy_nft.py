"""kube-proxy's nftables mode: the same Services as the iptables golden cases, rendered as the
`ip kube-proxy` table (tests/unit/test_proxy_nft.py checks the text against golden files,
tests/integration/test_nft_mode.py loads every case with `nft -f`)."""

from __future__ import annotations

from dataclasses import replace

from cases import proxy_render, proxy_service_types

# Every case gets the service range, as a node does (the cluster-ips-check drop rule).
SERVICE_CIDR = "10.96.0.0/12"

GOLDEN_CASES = {
    **{
        name: (ports, replace(proxy_render.CONFIG, node_name="node-a", node_ip="172.31.255.11", service_cidr=SERVICE_CIDR))
        for name, ports in proxy_render.GOLDEN_CASES.items()
    },
    **{
        name: (ports, replace(config, service_cidr=SERVICE_CIDR))
        for name, (ports, config) in proxy_service_types.GOLDEN_CASES.items()
    },
}
