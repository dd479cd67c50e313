"""Apply a node's routing plan (`lab/routing.py`) the way flanneld does: routes for host-gw;
for vxlan the VTEPs `flannel.1` (and `flannel-v6.1` for IPv6), then per other live node a
neighbour entry, an FDB entry and an onlink route, and the entries of nodes that left removed.

flanneld's order (backend/vxlan/vxlan_network.go, handleSubnetEvents): ARP (neighbour) and FDB
first, the route last, so the route never points at a VTEP the kernel cannot resolve yet; on
a lease removal the reverse. Idempotent: a second run changes nothing.
"""

from __future__ import annotations

from ipaddress import ip_address, ip_interface, ip_network

from netlab import naming
from netlab.api.addressing import Topology
from netlab.kernel.netlink import Netlink
from netlab.lab.routing import NodeRouting


def apply(topo: Topology, plan: NodeRouting, nl: Netlink) -> None:
    """Make the node behind `nl` hold `plan`; routes towards other nodes' pods that the plan
    does not name (a failed node's, in vxlan mode) are removed."""
    for v in plan.vteps:
        nl.ensure_vxlan(v.name, vni=v.vni, port=v.port, local=str(v.local), dev=v.underlay_dev, mac=v.mac, mtu=v.mtu)
        nl.ensure_address(v.name, ip_interface(f"{v.address}/{v.address.max_prefixlen}"))
    for p in plan.peers:
        nl.ensure_neighbour(p.dev, str(p.vtep_ip), p.mac)
        nl.ensure_fdb(p.dev, p.mac, str(p.underlay_ip))
    _sync_routes(topo, plan, nl)
    for v in plan.vteps:
        peers = [p for p in plan.peers if p.dev == v.name]
        wanted_neigh = {str(p.vtep_ip) for p in peers}
        wanted_fdb = {p.mac: str(p.underlay_ip) for p in peers}
        # Only the permanent entries are netlab's: IPv6 keeps NOARP entries of its own
        # (multicast groups) on every device.
        for n in nl.neighbours(v.name, family=v.family):
            if n.permanent and n.dst not in wanted_neigh:
                nl.delete_neighbour(v.name, n.dst)
        for f in nl.fdb(v.name):
            if wanted_fdb.get(f.lladdr) != f.dst:
                nl.delete_fdb(v.name, f.lladdr, f.dst)


def _sync_routes(topo: Topology, plan: NodeRouting, nl: Netlink) -> None:
    for r in plan.routes:
        nl.ensure_route(str(r.dst), gateway=str(r.gateway), dev=r.dev, onlink=r.onlink)
    if plan.mode == "bgp":
        return  # BIRD owns these routes (proto bird)
    wanted = {str(r.dst) for r in plan.routes}
    own = topo.node(plan.node).subnets
    for route in nl.routes(family=None):
        if route.dst == "default" or route.proto == naming.RTPROT_BIRD or route.dst in wanted:
            continue
        dst = ip_network(route.dst)
        pod_cidr = topo.pod_cidr_for(dst.version)
        if dst not in own and pod_cidr is not None and dst.subnet_of(pod_cidr) and route.gateway:
            nl.delete_route(route)


def vtep_owner(topo: Topology, address: str) -> str | None:
    """The node whose VTEP has this address (x.x.N.0 or fd00:…:N::), for the trace."""
    ip = ip_address(address)
    return next((n.name for n in topo.nodes if any(s.network_address == ip for s in n.subnets)), None)
