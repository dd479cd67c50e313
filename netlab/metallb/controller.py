"""MetalLB for the lab: load-balancer addresses for LoadBalancer Services, announced in L2 mode.

Two steps of the reconcile loop, like MetalLB's two parts:
- `allocate` (the controller): every LoadBalancer Service gets `status.loadBalancer.ingress`
  from the Cluster's `loadBalancerPool` — its `loadBalancerIP` when it asks for one, else the
  lowest free address; without a free address it stays `<pending>` and is retried on every
  reconcile. Addresses of Services that are gone or changed type were already dropped by
  `apply`, so they are free again.
- `announce` (the speakers): each LoadBalancer IP and each external IP is answered for by
  exactly one healthy node (`control/loadbalancer.py` elects it), as a /32 on that node's
  uplink. A node whose namespace is gone is not healthy: its addresses move on the next
  reconcile. The current owners are kept in the store for `describe svc`.
"""

from __future__ import annotations

from ipaddress import IPv4Address

from netlab import naming
from netlab.api.models import Service
from netlab.metallb.pool import Announcement, allocate_lb_ip, assign
from netlab.errors import NetlabError
from netlab.kernel import ns
from netlab.apiserver.state import Lab
from netlab.metallb import announce as node_announce

ANNOUNCEMENTS_KEY = "l2:announcements"  # meta: {ip: node}


def ingress_ips(status: dict) -> list[str]:
    return [i["ip"] for i in (status.get("loadBalancer") or {}).get("ingress", []) if i.get("ip")]


def allocate(lab: Lab) -> None:
    pool = lab.config.load_balancer_range
    services = sorted(lab.store.list("Service"), key=lambda o: (o.created, o.namespace, o.name))
    used = {IPv4Address(ip) for o in services for ip in ingress_ips(o.status)}
    for o in services:
        svc = Service.model_validate(o.manifest)
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


def healthy_nodes(lab: Lab) -> list[str]:
    return [n.name for n in lab.topo.nodes if ns.is_pinned(ns.netns_path(naming.node_netns(lab.name, n.name)))]


def wanted_announcements(services, healthy: list[str]) -> list[Announcement]:
    """From (StoredObject, Service, {node: has a ready endpoint}) triples: what to announce, where."""
    wanted = []
    for obj, svc, local_ready in services:
        if svc.spec.type == "ExternalName" or svc.spec.clusterIP == "None":
            continue
        candidates = tuple(healthy)
        if svc.spec.externalTrafficPolicy == "Local":
            # Only a node with a local endpoint may take the traffic (MetalLB's usableNodes).
            candidates = tuple(n for n in healthy if local_ready.get(n))
        for ip in [*ingress_ips(obj.status), *svc.spec.externalIPs]:
            wanted.append(Announcement(ip, candidates))
    return wanted


def announce(lab: Lab, services, healthy: list[str], problems: list[str]) -> dict[str, str]:
    """Put every announced address on its elected node (among `healthy`), remove it elsewhere."""
    owners = assign(wanted_announcements(services, healthy), healthy)
    previous = lab.store.get_meta(ANNOUNCEMENTS_KEY) or {}
    for node in lab.topo.nodes:
        path = ns.netns_path(naming.node_netns(lab.name, node.name))
        if not ns.is_pinned(path):
            continue  # a failed node: its addresses went with its namespace
        # A node that is not healthy but still there announces nothing (no split brain).
        mine = {IPv4Address(ip) for ip, owner in owners.items() if owner == node.name}
        try:
            node_announce.sync(path, node.underlay_ip, lab.topo.underlay, mine)
        except NetlabError as exc:
            problems.append(f"node/{node.name}: announcing {', '.join(map(str, sorted(mine)))}: {exc.message}")
    if owners != previous:
        lab.store.set_meta(ANNOUNCEMENTS_KEY, owners)
        for obj, svc, _ in services:
            for ip in [*ingress_ips(obj.status), *svc.spec.externalIPs]:
                if ip in owners and previous.get(ip) != owners[ip]:
                    lab.store.add_event(
                        "Service", obj.namespace, obj.name, "nodeAssigned",
                        f'announcing {ip} from node "{owners[ip]}" with protocol "layer2"',
                    )  # fmt: skip
    return owners
