"""Many similar service ports, for kube-proxy's partial sync (tests/unit/test_proxy_partial.py,
tests/integration/test_rules_restore.py)."""

from __future__ import annotations

from netlab.proxy import Endpoint, ProxyConfig, ServicePortInfo

CONFIG = ProxyConfig("10.244.0.0/16")


def service_ports(n: int, backends: int = 2, extra: bool = False) -> list[ServicePortInfo]:
    ports = [
        ServicePortInfo("default", f"svc{i}", "", "TCP", f"10.96.1.{i + 1}", 80,
                    tuple(Endpoint(f"10.244.{b + 1}.{i + 2}", 8080, f"node-{'ab'[b % 2]}") for b in range(backends)))
        for i in range(n)
    ]  # fmt: skip
    if extra:
        ports.append(ServicePortInfo("default", "late", "", "UDP", "10.96.2.1", 53, (Endpoint("10.244.1.99", 53, "node-a"),)))
    return ports
