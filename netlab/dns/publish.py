"""CoreDNS's kubernetes plugin, publishing side: Services, endpoints and pods become the
records snapshot the DNS server (`server.py`) reloads when it changes."""

from __future__ import annotations

import functools
from ipaddress import IPv4Address, IPv6Address, ip_address

from netlab.api.labels import selects
from netlab.apiserver.state import Lab
from netlab.controllers.endpoints import Backend, PodView, ServiceEndpoints
from netlab.dns.records import (
    EndpointRecord,
    PodRecord,
    PortRecord,
    Records,
    ServiceRecord,
    write_records,
)


@functools.lru_cache(maxsize=8192)
def _address_order(ip: str) -> tuple[int, IPv4Address | IPv6Address]:
    """IPv4 before IPv6, then by address. Kept per address: at 1,000 Services the same
    backends are sorted again at every publish, and parsing them was a tenth of it."""
    address = ip_address(ip)
    return address.version, address


def dns_records(lab: Lab, endpoints: list[ServiceEndpoints], views: list[PodView]) -> Records:
    services = []
    for se in endpoints:
        backends = {}
        seen = [view for f in se.families if (view := se.for_family(f)) is not None]
        for view in seen:
            for pe in view.ports:
                for b in pe.backends:
                    backends.setdefault(b.ip, b)
        if not se.ports and se.service.spec.selector:
            # A headless Service without ports still has endpoints (its pods' addresses).
            for v in views:
                if v.namespace == se.obj.namespace and v.ip and v.node and selects(se.service.spec.selector, v.labels):
                    for family in se.families:
                        ip = v.ip_of(family)
                        if ip is None:
                            continue
                        backends.setdefault(
                            ip,
                            Backend(
                                ip=ip, port=0, node=v.node, pod=f"{v.namespace}/{v.name}", ready=v.ready,
                                hostname=v.hostname if v.subdomain == se.obj.name else None,
                            ),
                        )
        cluster_ips = tuple(view.cluster_ip for view in seen if view.cluster_ip) if len(seen) > 1 else ()
        services.append(
            ServiceRecord(
                namespace=se.obj.namespace,
                name=se.obj.name,
                type=se.service.spec.type,
                cluster_ip=se.cluster_ip,
                external_name=se.service.spec.externalName,
                ports=tuple(PortRecord(pe.name, pe.port, pe.protocol) for pe in se.ports),
                endpoints=tuple(
                    EndpointRecord(ip=b.ip, ready=b.ready, hostname=b.hostname, pod=b.pod)
                    for b in sorted(backends.values(), key=lambda b: _address_order(b.ip))
                ),
                publish_not_ready=bool(se.service.spec.publishNotReadyAddresses),
                cluster_ips=cluster_ips,
            )
        )
    pods = tuple(
        PodRecord(
            namespace=v.namespace, name=v.name, ip=v.ip, hostname=v.hostname, subdomain=v.subdomain,
            ips=v.ips if len(v.ips) > 1 else (),
        )
        for v in views
        if v.ip
    )
    namespaces = tuple(o.name for o in lab.store.list("Namespace"))
    return Records(domain=lab.topo.domain, services=tuple(services), pods=pods, namespaces=namespaces)


def publish(lab: Lab, endpoints: list[ServiceEndpoints], views: list[PodView]) -> None:
    records = dns_records(lab, endpoints, views)
    text = records.to_json()
    try:
        with open(lab.dns_records) as f:
            if f.read() == text:
                return
    except FileNotFoundError:
        pass
    write_records(lab.dns_records, records)
