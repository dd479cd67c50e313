"""MetalLB's speakers (L2 mode): each LoadBalancer IP and external IP is answered for by exactly
one healthy node (`pool.py` elects it), as a /32 (/128) on that node's uplink (`announce.py`).

A node whose namespace is gone is not healthy: its addresses move on the next reconcile. The
current owners are kept in the store for `describe svc`.
"""

from __future__ import annotations

from ipaddress import ip_address

from netlab import naming
from netlab.apiserver.state import Lab
from netlab.controllers.endpoints import ServiceEndpoints
from netlab.errors import NetlabError
from netlab.kernel import ns
from netlab.metallb import announce as node_announce
from netlab.metallb.controller import ingress_ips
from netlab.metallb.pool import Announcement, assign


def announce_services(lab: Lab, endpoints: list[ServiceEndpoints], down: frozenset[str], problems: list[str]) -> None:
    """One healthy node answers ARP for each LoadBalancer/external IP of these Services."""
    announced = [(se.obj, se.service, _ready_by_node(se)) for se in endpoints]
    healthy = [n for n in healthy_nodes(lab) if n not in down]
    announce(lab, announced, healthy, problems)


def _ready_by_node(se: ServiceEndpoints) -> dict[str, bool]:
    return {b.node: True for pe in se.ports for b in pe.backends if b.ready}


ANNOUNCEMENTS_KEY = "l2:announcements"  # meta: {ip: node}


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
        mine = {ip_address(ip) for ip, owner in owners.items() if owner == node.name}
        for family in lab.topo.families:
            theirs = {ip for ip in mine if ip.version == family}
            try:
                node_announce.sync(path, node.underlay_ip_for(family), lab.topo.underlay_for(family), theirs)
            except NetlabError as exc:
                problems.append(f"node/{node.name}: announcing {', '.join(map(str, sorted(theirs)))}: {exc.message}")
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
