"""The lab's wiring below the pods: the fabric switch, the nodes, and the host's one veth.

```
host ── <cluster>0 ══ host ─┐  fabric netns: bridge br0 ("the physical switch")
                           ├─ u-node-a ══ eth0  node netns: cni0 bridge, routes, iptables
                           └─ u-node-b ══ eth0  …
```
Every step is idempotent ("ensure"): re-running after a crash finishes the job.
"""

from __future__ import annotations

from ipaddress import ip_interface

from netlab import naming
from netlab.api.addressing import NodeNet, Topology
from netlab.errors import EnvironmentProblem, KernelError
from netlab.kernel import ns
from netlab.kernel.netlink import Netlink
from netlab.kernel.sysctl import write_in
from netlab.lab import apiendpoint, bird, routing, vxlan
from netlab.naming import RTPROT_NETLAB

# The unreachable route for the underlay sits behind the connected route of the host's veth:
# while the lab exists the veth wins, and if the veth ever vanishes nothing leaks out.
UNDERLAY_GUARD_METRIC = 4242

NODE_SYSCTLS = {
    "net.ipv4.ip_forward": "1",
    # Bridged pod-to-pod traffic must traverse iptables, or Service DNAT would miss it
    # (the same reason kubeadm asks for br_netfilter).
    "net.bridge.bridge-nf-call-iptables": "1",
    # kube-proxy REJECTs connections to a Service without endpoints; the kernel's per-client
    # ICMP rate limit would swallow those port-unreachables and turn "connection refused"
    # into a timeout for a client that tries twice within a second.
    "net.ipv4.icmp_ratelimit": "0",
}
# The same for IPv6, in labs that have it: forwarding, bridged traffic through ip6tables, no
# ICMPv6 rate limit; and no duplicate address detection, so an address is usable at once.
NODE_SYSCTLS_IPV6 = {
    "net.ipv6.conf.all.forwarding": "1",
    "net.bridge.bridge-nf-call-ip6tables": "1",
    "net.ipv6.icmp.ratelimit": "0",
    "net.ipv6.conf.all.accept_dad": "0",
    "net.ipv6.conf.default.accept_dad": "0",
    # A node that comes back (node recover) tells the others its address at once with an
    # unsolicited neighbour advertisement, as a node with ndisc_notify does, instead of leaving
    # them with the FAILED neighbour entry its outage left behind.
    "net.ipv6.conf.all.ndisc_notify": "1",
}


def node_sysctls(topo: Topology) -> dict[str, str]:
    return {**NODE_SYSCTLS, **(NODE_SYSCTLS_IPV6 if 6 in topo.families else {})}


def ensure_netns(name: str, marker: str) -> tuple[str, bool]:
    """The named netns with `lo` up and our marker on it; (path, created)."""
    path = ns.netns_path(name)
    created = False
    if not ns.is_pinned(path):
        ns.create_netns(name)
        created = True
    with Netlink(path) as nl:
        alias = nl.alias("lo")
        if not created and alias != marker:
            owner = naming.parse_netns_marker(alias)
            raise EnvironmentProblem(
                f"network namespace {name} exists but is not netlab's ({'owned by ' + owner[0] if owner else 'no netlab marker'})",
                detail="remove it (ip netns delete) or pick another cluster name",
            )
        if alias != marker:
            nl.set_alias("lo", marker)
        nl.set_up("lo")
    return path, created


def ensure_host_link(topo: Topology, fabric_path: str) -> None:
    name = naming.host_link(topo.cluster)
    marker = naming.link_marker(topo.cluster)
    with Netlink() as host:
        if host.index(name) is not None and host.alias(name) != marker:
            raise EnvironmentProblem(
                f"the host already has a link named {name} that netlab did not create",
                detail="pick another cluster name",
            )
        if host.index(name) is None:
            host.add_veth(name, naming.FABRIC_HOST_PORT, fabric_path)
            host.set_alias(name, marker)
        for interface in topo.host_interfaces:
            host.ensure_address(name, interface)
        host.set_up(name)
        for network in (*topo.pod_cidrs, *topo.service_cidrs):
            host.ensure_route(str(network), type="unreachable", proto=RTPROT_NETLAB)
        for underlay in topo.underlays:
            host.ensure_route(str(underlay), type="unreachable", proto=RTPROT_NETLAB, metric=UNDERLAY_GUARD_METRIC)
    with Netlink(fabric_path) as fabric:
        fabric.set_master(naming.FABRIC_HOST_PORT, naming.FABRIC_BRIDGE)
        fabric.set_up(naming.FABRIC_HOST_PORT)


def ensure_node(topo: Topology, node: NodeNet, fabric: Netlink, down: frozenset[str] = frozenset()) -> str:
    path, _ = ensure_netns(
        naming.node_netns(topo.cluster, node.name), naming.netns_marker(topo.cluster, f"node:{node.name}")
    )
    port = naming.fabric_port(node.name)
    if fabric.index(port) is None:
        fabric.add_veth(port, naming.NODE_UPLINK, path, peer_mac=naming.node_mac(topo.cluster, node.name))
    fabric.set_master(port, naming.FABRIC_BRIDGE)
    fabric.set_up(port)
    write_in(path, node_sysctls(topo))
    with Netlink(path) as nl:
        for ip, underlay in zip(node.underlay_ips, topo.underlays, strict=True):
            nl.ensure_address(naming.NODE_UPLINK, ip_interface(f"{ip}/{underlay.prefixlen}"))
        nl.set_up(naming.NODE_UPLINK)
        nl.ensure_bridge(naming.NODE_BRIDGE)
        for gateway, subnet in zip(node.gateways, node.subnets, strict=True):
            nl.ensure_address(naming.NODE_BRIDGE, ip_interface(f"{gateway}/{subnet.prefixlen}"))
        if nl.mtu(naming.NODE_BRIDGE) != topo.pod_mtu:  # flannel's CNI config sets cni0's MTU too
            nl.set_mtu(naming.NODE_BRIDGE, topo.pod_mtu)
        nl.set_up(naming.NODE_BRIDGE)
        # How this node reaches the other nodes' pods: the routing mode's plan (lab/routing.py).
        vxlan.apply(topo, routing.plan(topo, node, down), nl)
        # Service IPs need a route for the filter table's REJECT (no endpoints) to be reached;
        # on real nodes the default route plays this part. Nothing leaves the node through it.
        for service_cidr in topo.service_cidrs:
            nl.ensure_route(str(service_cidr), dev=naming.NODE_BRIDGE)
    return path


def unplug(topo: Topology, node: str) -> None:
    """Pull a failing node's cable: its fabric port goes (its eth0 with it), so nothing the
    node's dying processes send — a TCP FIN, BIRD's goodbye — reaches the others, which learn
    of the failure as they would of a powered-off machine: by silence."""
    with Netlink(ns.netns_path(naming.fabric_netns(topo.cluster))) as fabric:
        fabric.delete_link(naming.fabric_port(node))


def ensure_cluster_network(topo: Topology, down: frozenset[str] = frozenset()) -> None:
    """Wire the fabric, the host link and every node except those `down` (failed nodes)."""
    fabric_path, _ = ensure_netns(
        naming.fabric_netns(topo.cluster), naming.netns_marker(topo.cluster, "fabric")
    )
    with Netlink(fabric_path) as fabric:
        fabric.ensure_bridge(naming.FABRIC_BRIDGE)
        fabric.set_up(naming.FABRIC_BRIDGE)
        for node in topo.nodes:
            if node.name not in down:
                ensure_node(topo, node, fabric, down)
    ensure_host_link(topo, fabric_path)
    apiendpoint.ensure_running(topo)  # the control plane's endpoint, behind default/kubernetes
    if topo.routing == "bgp":
        bird.ensure_running(topo, down)


def delete_host_routes(networks) -> list[str]:
    """Remove netlab's own host routes for these networks (all of netlab's when None)."""
    problems = []
    wanted = {str(n) for n in networks} if networks is not None else None
    with Netlink() as host:
        for route in host.routes(family=None):
            if route.proto != RTPROT_NETLAB:
                continue
            if wanted is not None and route.dst not in wanted:
                continue
            try:
                host.delete_route(route)
            except KernelError as exc:
                problems.append(exc.message)
    return problems
