"""MetalLB's controller: load-balancer addresses for LoadBalancer Services.

Every LoadBalancer Service gets `status.loadBalancer.ingress` from the Cluster's
`loadBalancerPool` — its `loadBalancerIP` when it asks for one, else the lowest free address
(`pool.py`); without a free address it stays `<pending>` and is retried on every reconcile.
Addresses of Services that are gone or changed type were already dropped by the apiserver's
registry, so they are free again. The speakers (`speaker.py`) announce them.

A dual-stack Service gets one address per family it has (MetalLB's dual-stack pools): each from
that family's range of the pool, all or none, so a Service is never half-announced.
"""

from __future__ import annotations

from ipaddress import ip_address

from netlab.apiserver.state import Lab, service_model
from netlab.controllers.endpoints import service_families
from netlab.metallb.pool import allocate_lb_ip


def ingress_ips(status: dict) -> list[str]:
    return [i["ip"] for i in (status.get("loadBalancer") or {}).get("ingress", []) if i.get("ip")]


def allocate(lab: Lab) -> None:
    services = sorted(lab.store.list("Service"), key=lambda o: (o.created, o.namespace, o.name))
    used = {ip_address(ip) for o in services for ip in ingress_ips(o.status)}
    for o in services:
        if (o.manifest.get("spec") or {}).get("type") != "LoadBalancer":
            continue  # read from the manifest: most of a thousand Services are not, and need no model
        svc = service_model(o)
        current = ingress_ips(o.status)
        wanted = svc.spec.loadBalancerIP
        families = [f for f in service_families(o) if f in lab.topo.families] or [lab.topo.families[0]]
        if wanted is not None and current == [wanted]:
            continue
        if wanted is None and current and sorted(ip_address(ip).version for ip in current) == sorted(families):
            continue
        for ip in current:
            used.discard(ip_address(ip))
        if wanted is not None:  # one address, of its own family (upstream's deprecated field)
            ips, reason = ([ip_address(wanted)], "") if ip_address(wanted) not in used else ([], "the address is in use")
        else:
            ips, reason = _from_pools(lab, families, used)
        status = dict(o.status)
        if not ips:
            status.pop("loadBalancer", None)
            if o.status.get("lbPending") is None:
                lab.store.add_event("Service", o.namespace, o.name, "AllocationFailed", f"Failed to allocate IP: {reason}", "Warning")
            status["lbPending"] = True
        else:
            used.update(ips)
            status.pop("lbPending", None)
            status["loadBalancer"] = {"ingress": [{"ip": str(ip)} for ip in ips]}
            shown = ",".join(f'"{ip}"' for ip in ips)
            lab.store.add_event("Service", o.namespace, o.name, "IPAllocated", f"Assigned IP [{shown}]")
        lab.store.set_status("Service", o.namespace, o.name, status)


def _from_pools(lab: Lab, families: list[int], used: set) -> tuple[list, str]:
    """One free address per family (primary first), or none and why."""
    ips = []
    for family in families:
        pool = lab.config.load_balancer_range_for(family)
        ip = allocate_lb_ip(pool, used) if pool is not None else None
        if ip is None:
            dual = len(lab.topo.families) > 1
            if pool is None:
                return [], f"the cluster has no {f'IPv{family} ' if dual else ''}loadBalancerPool"
            return [], f"no free {f'IPv{family} ' if dual else ''}address in the pool"
        ips.append(ip)
    return ips, ""
