"""MetalLB's controller: load-balancer addresses for LoadBalancer Services.

Every LoadBalancer Service gets `status.loadBalancer.ingress` from the Cluster's
`loadBalancerPool` — its `loadBalancerIP` when it asks for one, else the lowest free address
(`pool.py`); without a free address it stays `<pending>` and is retried on every reconcile.
A dual-stack Service gets one address per family of its `ipFamilies`, primary first, each from
the pool's range of that family (MetalLB's dual-stack pools); a family the pool has no range
for is left out, and a full range leaves the Service pending. Addresses of Services that are
gone or changed type were already dropped by the apiserver's registry, so they are free again.
The speakers (`speaker.py`) announce them.
"""

from __future__ import annotations

from ipaddress import ip_address

from netlab.api.families import family_number
from netlab.apiserver.state import Lab, service_model
from netlab.metallb.pool import allocate_lb_ip


def ingress_ips(status: dict) -> list[str]:
    return [i["ip"] for i in (status.get("loadBalancer") or {}).get("ingress", []) if i.get("ip")]


def service_families(status: dict) -> list[int]:
    """The Service's IP families, primary first (the apiserver's status.ipFamilies)."""
    return [family_number(name) for name in status.get("ipFamilies") or ["IPv4"]]


def allocate(lab: Lab) -> None:
    services = sorted(lab.store.list("Service"), key=lambda o: (o.created, o.namespace, o.name))
    used = {ip_address(ip) for o in services for ip in ingress_ips(o.status)}
    for o in services:
        svc = service_model(o)
        if svc.spec.type != "LoadBalancer":
            continue
        wanted = ip_address(svc.spec.loadBalancerIP) if svc.spec.loadBalancerIP else None
        families = [f for f in service_families(o.status) if lab.config.load_balancer_range_for(f) or (wanted and wanted.version == f)]
        current = [ip_address(ip) for ip in ingress_ips(o.status)]
        if current and [ip.version for ip in current] == families and (wanted is None or wanted in current):
            continue
        for ip in current:
            used.discard(ip)
        chosen, missing = [], False
        for family in families:
            if wanted is not None and wanted.version == family:
                ip = wanted if wanted not in used else None
            else:
                ip = allocate_lb_ip(lab.config.load_balancer_range_for(family), used)
            if ip is None:
                missing = True
                break
            chosen.append(ip)
        status = dict(o.status)
        if missing or not chosen:
            status.pop("loadBalancer", None)
            if o.status.get("lbPending") is None:
                reason = "no free address in the pool" if lab.config.loadBalancerPool else "the cluster has no loadBalancerPool"
                lab.store.add_event("Service", o.namespace, o.name, "AllocationFailed", f"Failed to allocate IP: {reason}", "Warning")
            status["lbPending"] = True
        else:
            used.update(chosen)
            status.pop("lbPending", None)
            status["loadBalancer"] = {"ingress": [{"ip": str(ip)} for ip in chosen]}
            shown = ", ".join(f'"{ip}"' for ip in chosen)
            lab.store.add_event("Service", o.namespace, o.name, "IPAllocated", f"Assigned IP [{shown}]")
        lab.store.set_status("Service", o.namespace, o.name, status)
