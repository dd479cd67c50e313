"""MetalLB's controller: load-balancer addresses for LoadBalancer Services.

Every LoadBalancer Service gets `status.loadBalancer.ingress` from the Cluster's
`loadBalancerPool` — its `loadBalancerIP` when it asks for one, else the lowest free address
(`pool.py`); without a free address it stays `<pending>` and is retried on every reconcile.
Addresses of Services that are gone or changed type were already dropped by the apiserver's
registry, so they are free again. The speakers (`speaker.py`) announce them.
"""

from __future__ import annotations

from ipaddress import IPv4Address

from netlab.apiserver.state import Lab, service_model
from netlab.metallb.pool import allocate_lb_ip


def ingress_ips(status: dict) -> list[str]:
    return [i["ip"] for i in (status.get("loadBalancer") or {}).get("ingress", []) if i.get("ip")]


def allocate(lab: Lab) -> None:
    pool = lab.config.load_balancer_range
    services = sorted(lab.store.list("Service"), key=lambda o: (o.created, o.namespace, o.name))
    used = {IPv4Address(ip) for o in services for ip in ingress_ips(o.status)}
    for o in services:
        svc = service_model(o)
        if svc.spec.type != "LoadBalancer":
            continue
        current = ingress_ips(o.status)
        wanted = svc.spec.loadBalancerIP
        if current and (wanted is None or current == [wanted]):
            continue
        for ip in current:
            used.discard(IPv4Address(ip))
        if wanted is not None:
            ip = IPv4Address(wanted) if IPv4Address(wanted) not in used else None
        else:
            ip = allocate_lb_ip(pool, used) if pool is not None else None
        status = dict(o.status)
        if ip is None:
            status.pop("loadBalancer", None)
            if o.status.get("lbPending") is None:
                reason = "no free address in the pool" if pool else "the cluster has no loadBalancerPool"
                lab.store.add_event("Service", o.namespace, o.name, "AllocationFailed", f"Failed to allocate IP: {reason}", "Warning")
            status["lbPending"] = True
        else:
            used.add(ip)
            status.pop("lbPending", None)
            status["loadBalancer"] = {"ingress": [{"ip": str(ip)}]}
            lab.store.add_event("Service", o.namespace, o.name, "IPAllocated", f'Assigned IP ["{ip}"]')
        lab.store.set_status("Service", o.namespace, o.name, status)
