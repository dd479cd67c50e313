"""CoreDNS's kubernetes plugin, publishing side: Services, endpoints and pods become the
records snapshot the DNS server (`server.py`) reloads when it changes."""

from __future__ import annotations

from ipaddress import IPv4Address

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


def dns_records(lab: Lab, endpoints: list[ServiceEndpoints], views: list[PodView]) -> Records:
    services = []
    for se in endpoints:
        backends = {}
        for pe in se.ports:
            for b in pe.backends:
                backends.setdefault(b.ip, b)
        if not se.ports and se.service.spec.selector:
            # A headless Service without ports still has endpoints (its pods' addresses).
            for v in views:
                if v.namespace == se.obj.namespace and v.ip and v.node and selects(se.service.spec.selector, v.labels):
                    backends.setdefault(
                        v.ip,
                        Backend(
                            ip=v.ip, port=0, node=v.node, pod=f"{v.namespace}/{v.name}", ready=v.ready,
                            hostname=v.hostname if v.subdomain == se.obj.name else None,
                        ),
                    )
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
                    for b in sorted(backends.values(), key=lambda b: IPv4Address(b.ip))
                ),
                publish_not_ready=bool(se.service.spec.publishNotReadyAddresses),
            )
        )
    pods = tuple(
        PodRecord(namespace=v.namespace, name=v.name, ip=v.ip, hostname=v.hostname, subdomain=v.subdomain)
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
