"""Assemble a packet's path hop by hop from kernel facts (pure over a `World`).

The order is the kernel's: the source's route, its veth into the node's bridge; on each node
nat PREROUTING (kube-proxy's DNAT), the routing decision, filter FORWARD (REJECT for Services
without endpoints, policy verdicts), nat POSTROUTING (masquerade); then either the bridge and
veth of a local pod, or the underlay to the node the host-gw route names, which does the same.
Bridged pod-to-pod traffic goes through the same hooks because the nodes have
`bridge-nf-call-iptables=1` (br_netfilter), as kubeadm requires.
"""

from __future__ import annotations

from dataclasses import replace

from netlab import naming
from netlab.trace.model import (
    DELIVERED,
    DROPPED,
    REFUSED,
    REJECTED,
    PodPlace,
    Source,
    Step,
    Trace,
    World,
)
from netlab.trace.walk import Env, Packet, Walk, endpoint_text, walk

# In nftables mode, the iptables hook the trace stands at → the nf_tables hook whose
# kube-proxy base chains run before it (filter -110, nat -100, filter-output-post-dnat -90).
NFT_HOOKS = {
    ("nat", "PREROUTING"): "prerouting",
    ("nat", "OUTPUT"): "output",
    ("filter", "FORWARD"): "forward",
    ("filter", "INPUT"): "input",
    ("nat", "POSTROUTING"): "postrouting",
}
MAX_NODES = 8  # a routing loop between nodes must end the trace, not hang it


def _crossing_decision(dst: str, route, c) -> str:
    """The route step's words for the routing mode that wrote the route."""
    if c.mode == "vxlan":
        return (
            f"vxlan: {dst} lives behind the VTEP {route.gateway} (node {c.node or '?'}), out of {route.dev}: "
            f"the packet is wrapped in UDP to {f'[{c.address}]' if ':' in c.address else c.address}:{c.port}"
        )
    if c.mode == "bgp":
        return f"bgp: a route BIRD learned over iBGP from node {c.node or '?'}: next hop {route.gateway}, out of {route.dev} on the underlay"
    return f"host-gw: {dst} lives on the node at {route.gateway}, out of {route.dev} on the underlay"


def _short(command: str, limit: int = 60) -> str:
    return command if len(command) <= limit else command[: limit - 1] + "…"


class _Done(Exception):
    def __init__(self, verdict: str, reason: str, reached: str | None = None) -> None:
        self.verdict, self.reason, self.reached = verdict, reason, reached


def trace(
    world: World,
    source: Source,
    packet: Packet,
    destination: str,
    before: tuple[Step, ...] = (),
    prefer: frozenset[str] = frozenset(),
) -> Trace:
    """The path of `packet` from `source`; `before` are steps already taken (the DNS answer)."""
    assembly = _Assembly(world, prefer, list(before))
    try:
        assembly.run(source, packet)
    except _Done as done:
        return Trace(source.name, destination, packet, tuple(assembly.steps), done.verdict, done.reason, assembly.endpoint, done.reached)
    raise AssertionError("a trace always ends with a verdict")  # pragma: no cover


class _Assembly:
    def __init__(self, world: World, prefer: frozenset[str], steps: list[Step]) -> None:
        self.world, self.prefer, self.steps = world, prefer, steps
        self.endpoint: str | None = None

    def add(self, kind: str, where: str, obj: str, decision: str, details: tuple[str, ...] = (), **data) -> None:
        self.steps.append(Step(kind, where, obj, decision, details, data))

    # -- leaving the source ---------------------------------------------------------------

    def run(self, source: Source, packet: Packet) -> None:
        if source.kind == "pod":
            self.from_pod(source, packet)
        elif source.kind == "node":
            self.from_node(source.node or source.name, packet)
        else:
            self.from_host(packet)

    def from_pod(self, source: Source, packet: Packet) -> None:
        pod = source.pod
        assert pod is not None
        where = f"pod {pod.ref}"
        route = self.world.route(pod.netns, packet.dst)
        if route.type != "unicast":
            self.add("route", where, f"route get {packet.dst}", f"no route: {route.text}", route=route.text)
            raise _Done(DROPPED, f"pod {pod.ref} has no route to {packet.dst}")
        how = f"next hop {route.gateway} (the node's cni0)" if route.gateway else "on-link: same /24, straight to the bridge"
        self.add("route", where, route.text, how, route=route.text, gateway=route.gateway, dev=route.dev)
        pod_end, node_end = self.world.veth(pod)
        self.add(
            "veth", where, f"{pod_end.text} ⇄ {node_end.text} on node {pod.node}",
            f"out of the pod's {pod_end.name} into {node_end.name}, a port of {node_end.master or naming.NODE_BRIDGE}",
            pod_end=pod_end.name, pod_ifindex=pod_end.index, node_end=node_end.name, node_ifindex=node_end.index,
            peer_index=pod_end.peer_index,
        )  # fmt: skip
        self.through_node(pod.node, replace(packet, in_iface=naming.NODE_BRIDGE), came_from=pod, bridged=route.gateway is None)

    def from_host(self, packet: Packet) -> None:
        route = self.world.route(None, packet.dst)
        if route.type != "unicast":
            self.add("route", "host", route.text, "the host's guard route: lab ranges never leave the machine", route=route.text)
            raise _Done(DROPPED, f"the host routes {packet.dst} nowhere ({route.type}): only node (underlay) addresses are reachable from the host")
        node = self.world.node_by_underlay(route.gateway or packet.dst)
        self.add("route", "host", route.text, f"out of the host's veth {route.dev} to the fabric switch", route=route.text, dev=route.dev)
        if node is None:
            raise _Done(DROPPED, f"no node has the underlay address {route.gateway or packet.dst}")
        self.underlay("host", node, route.gateway or packet.dst)
        self.through_node(node, replace(packet, src=route.prefsrc or packet.src, in_iface=naming.NODE_UPLINK))

    def from_node(self, node: str, packet: Packet) -> None:
        where = f"node {node}"
        env = Env(self.world.local_addresses(node))
        out = self.hook(where, node, "nat", "OUTPUT", packet, env)
        route = self.route_on(node, out.packet)
        filt = self.hook(where, node, "filter", "OUTPUT", replace(out.packet, out_iface=route.dev or ""), env)
        self.leave(node, filt.packet, route, came_from=None)

    # -- one node -------------------------------------------------------------------------

    def through_node(
        self, node: str, packet: Packet, came_from: PodPlace | None = None, hops: int = 0, bridged: bool = False
    ) -> None:
        if hops >= MAX_NODES:
            raise _Done(DROPPED, "the packet went round the nodes: a routing loop")
        where = f"node {node}"
        env = Env(self.world.local_addresses(node))
        pre = self.hook(where, node, "nat", "PREROUTING", packet, env)
        original, packet = packet.dst, pre.packet
        if bridged and packet.dst == original:
            # Same /24: cni0 switches the frame by MAC, no routing; the hooks still ran above.
            route = self.world.route(self.world.node_netns(node), packet.dst)
            self.add("bridge", where, naming.NODE_BRIDGE, f"bridged by MAC to the port of {packet.dst}: no routing (same /24)")
        else:
            if packet.dst in env.local_addresses:
                self.deliver_to_node(node, packet)
            route = self.route_on(node, packet)
        fwd = self.hook(where, node, "filter", "FORWARD", replace(packet, out_iface=route.dev or ""), env)
        self.leave(node, fwd.packet, route, came_from, hops)

    def route_on(self, node: str, packet: Packet):
        where = f"node {node}"
        route = self.world.route(self.world.node_netns(node), packet.dst)
        if route.type != "unicast":
            self.add("route", where, route.text, f"no route to {packet.dst}", route=route.text)
            raise _Done(DROPPED, f"node {node} has no route to {packet.dst} ({route.text})")
        crossing = self.world.crossing(node, route) if route.dev != naming.NODE_BRIDGE else None
        if route.dev == naming.NODE_BRIDGE:
            decision = f"out of {naming.NODE_BRIDGE}, the bridge of this node's pods"
        elif crossing is not None:
            decision = _crossing_decision(packet.dst, route, crossing)
        elif route.gateway:
            decision = f"host-gw: {packet.dst} lives on the node at {route.gateway}, out of {route.dev} on the underlay"
        else:
            decision = f"out of {route.dev}"
        extra = {"crossing": crossing.mode, "origin": crossing.origin} if crossing else {}
        self.add("route", where, route.text, decision, route=route.text, gateway=route.gateway, dev=route.dev, **extra)
        return route

    def leave(self, node: str, packet: Packet, route, came_from: PodPlace | None, hops: int = 0) -> None:
        where = f"node {node}"
        env = Env(self.world.local_addresses(node))
        post = self.hook(where, node, "nat", "POSTROUTING", replace(packet, out_iface=route.dev or ""), env)
        packet = post.packet
        if post.verdict == "MASQUERADE":
            packet = replace(packet, src=route.prefsrc or packet.src)
        if route.dev == naming.NODE_BRIDGE:
            self.into_pod(node, packet, came_from)
        crossing = self.world.crossing(node, route)
        address = crossing.address if crossing else route.gateway or packet.dst
        next_node = crossing.node if crossing else self.world.node_by_underlay(address)
        if next_node is None:
            raise _Done(DROPPED, f"no node answers at {address} on the underlay")
        arrives_on = naming.NODE_UPLINK
        if crossing is not None and crossing.mode == "vxlan":
            self.encapsulate(node, next_node, packet, crossing)
            arrives_on = crossing.dev or naming.VXLAN_DEVICE  # the peer VTEP has the same name
        self.underlay(node, next_node, address)
        if arrives_on != naming.NODE_UPLINK:
            self.add(
                "vxlan", f"node {next_node}", f"{arrives_on} (VNI {crossing.vni}, udp/{crossing.port})",
                f"decapsulated: the inner packet {packet.src} → {packet.dst} comes out of {arrives_on}",
                mode="vxlan", vni=crossing.vni, port=crossing.port,
            )  # fmt: skip
        self.through_node(next_node, replace(packet, in_iface=arrives_on, out_iface="", mark=0), hops=hops + 1)

    def encapsulate(self, node: str, next_node: str, packet: Packet, c) -> None:
        self.add(
            "vxlan", f"node {node}", f"{c.dev or naming.VXLAN_DEVICE} (VNI {c.vni}, udp/{c.port}) → {c.mac} → dst {c.address}",
            f"VXLAN-encapsulated: outer {c.outer_src} → {c.address} udp/{c.port} VNI {c.vni}, "
            f"inner {packet.src} → {packet.dst} (neighbour entry → VTEP MAC {c.mac}, FDB entry → {c.address})",
            mode="vxlan", outer_src=c.outer_src, outer_dst=c.address, vni=c.vni, port=c.port, mac=c.mac, node=next_node,
        )  # fmt: skip

    def underlay(self, origin: str, node: str, address: str) -> None:
        self.add(
            "underlay", f"node {origin}" if origin != "host" else "host",
            f"{naming.FABRIC_BRIDGE} (fabric switch) → {naming.fabric_port(node)} ⇄ {naming.NODE_UPLINK} of {node} ({address})",
            f"across the underlay to node {node}", node=node, address=address,
        )  # fmt: skip

    # -- arriving ---------------------------------------------------------------------------

    def into_pod(self, node: str, packet: Packet, came_from: PodPlace | None) -> None:
        pod = self.world.pod_by_ip(packet.dst)
        where = f"node {node}"
        if pod is None or pod.node != node:
            self.add("bridge", where, naming.NODE_BRIDGE, f"no pod has {packet.dst} on this bridge: ARP gets no answer")
            raise _Done(DROPPED, f"no pod with IP {packet.dst} on node {node}")
        pod_end, node_end = self.world.veth(pod)
        hairpin = came_from is not None and came_from.ref == pod.ref
        decision = f"forwards to port {node_end.name}" + (" — hairpin: back out of the port it came in (hairpin on)" if hairpin else "")
        self.add("bridge", where, f"{naming.NODE_BRIDGE} → {node_end.name}", decision, port=node_end.name, hairpin=hairpin)
        self.add(
            "veth", f"pod {pod.ref}", f"{node_end.text} ⇄ {pod_end.text}",
            f"into pod {pod.ref} as {packet.src} → {endpoint_text(packet.dst, packet.dport)}",
            pod_end=pod_end.name, pod_ifindex=pod_end.index, node_end=node_end.name, node_ifindex=node_end.index,
            peer_index=node_end.peer_index, src=packet.src,
        )  # fmt: skip
        self.listening(f"pod {pod.ref}", pod.netns, packet)

    def deliver_to_node(self, node: str, packet: Packet) -> None:
        where = f"node {node}"
        env = Env(self.world.local_addresses(node))
        self.add("route", where, f"local {packet.dst}", "addressed to this node itself: local delivery")
        self.hook(where, node, "filter", "INPUT", packet, env)
        self.listening(where, self.world.node_netns(node), packet)

    def listening(self, where: str, netns: str, packet: Packet) -> None:
        found = self.world.listeners(netns, packet.protocol, packet.dport)
        target = where.split(" ", 1)[1]
        if not found:
            answer = "a TCP RST (connection refused)" if packet.protocol == "tcp" else "ICMP port unreachable"
            self.add("socket", where, f"{packet.protocol}/{packet.dport}", f"nothing listens: the kernel answers {answer}")
            raise _Done(REFUSED, f"nothing listens on {packet.protocol}/{packet.dport} in {where}", where)
        first = found[0]
        self.add("socket", where, first.text, "accepted by the listening socket", pid=first.pid, command=first.command, address=first.address)
        who = f"pid {first.pid} ({_short(first.command)})" if first.pid else f"socket inode {first.inode}"
        raise _Done(DELIVERED, f"{who} in {target} listens on {packet.protocol}/{packet.dport}", where)

    # -- netfilter ----------------------------------------------------------------------------

    def hook(self, where: str, node: str, table: str, hook: str, packet: Packet, env: Env) -> Walk:
        """The rules at one netfilter hook: in nftables mode first the base chains of table ip
        kube-proxy that run there (they have lower priorities), then the iptables chain."""
        family = 6 if ":" in packet.dst else 4
        nft = getattr(self.world, "nft_table", lambda node, family: None)(node, family)
        rules = self.world.ruleset(node, family)
        if nft is None:
            return self.netfilter(where, walk(rules, table, hook, packet, env, self.prefer))
        from netlab.trace import nftwalk

        significant = None
        walks = nftwalk.walk_hook(nft, NFT_HOOKS[(table, hook)], packet, env, self.prefer) if (table, hook) in NFT_HOOKS else []
        for w in walks:
            if w.hits or w.verdict not in ("ACCEPT",):
                self.netfilter(where, w)
            if w.verdict in ("DNAT", "MASQUERADE"):
                significant = w
            packet = w.packet
        if rules.chain(table, hook) is not None:
            return self.netfilter(where, walk(rules, table, hook, packet, env, self.prefer))
        last = significant or (walks[-1] if walks else walk(rules, table, hook, packet, env, self.prefer))
        return replace(last, packet=packet)

    def netfilter(self, where: str, w: Walk) -> Walk:
        """One hook as a step; stops the trace on REJECT/DROP."""
        details = []
        for hit in w.hits:
            details.append(f"{w.table} {hit.rule.chain} #{hit.rule.index}: {hit.rule.text}" + (f"   ⇒ {hit.note}" if hit.note else ""))
        for choice in w.choices:
            for k, option in enumerate(choice.options):
                mark = "→" if k == choice.chosen else " "
                details.append(f"{mark} {option.target} p={option.probability:.4g} → {option.destination or '?'}")
            details.append(f"  followed: {choice.options[choice.chosen].target} ({choice.why})")
        for unknown in w.unknown:
            details.append(f"not evaluated (treated as no match): {unknown}")
        obj = f"{w.table} {' → '.join(w.chains) if w.chains else w.hook}"
        self.add(
            "netfilter", where, obj, w.detail, tuple(details),
            table=w.table, hook=w.hook, chains=list(w.chains), verdict=w.verdict,
            choices=[{"chain": c.chain, "chosen": c.options[c.chosen].target,
                      "options": [{"target": o.target, "probability": o.probability, "destination": o.destination} for o in c.options]}
                     for c in w.choices],
        )  # fmt: skip
        if w.verdict == "DNAT":
            self.endpoint = endpoint_text(w.packet.dst, w.packet.dport)
        if w.verdict == "REJECT":
            rule = w.hits[-1].rule
            why = f" ({rule.comment})" if rule.comment else ""
            raise _Done(REJECTED, f"rejected in {w.table} {rule.chain}{why}: {w.detail}")
        if w.verdict == "DROP":
            rule = w.hits[-1].rule if w.hits else None
            at = f"{w.table} {rule.chain} rule {rule.index}" + (f" ({rule.comment})" if rule.comment else "") if rule else f"{w.table} {w.hook} policy"
            raise _Done(DROPPED, f"dropped by {at}")
        return w
