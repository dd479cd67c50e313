"""The trace's view of the real lab: routes, links, rules and sockets read from the kernel.

The thin side of `netlab trace`: every question `netlab.trace.path` asks is answered here from
the live namespaces — `ip route get` through the Netlink adapter inside the namespace, the veth
ends and their peer indexes, `iptables-save` of each node, `/proc/net/tcp|udp` read while
entered into the pod's namespace. The store only names things (which pod has which IP and
veth); the kernel says what is true.
"""

from __future__ import annotations

import os
from ipaddress import ip_address, ip_network

from netlab import naming
from netlab.apiserver.state import Lab
from netlab.errors import KernelError, NotFound
from netlab.kernel import iptables, ns, procs
from netlab.kernel.netlink import Netlink
from netlab.trace import sockets
from netlab.trace.model import Crossing, LinkEnd, Listener, PodPlace, RouteHit
from netlab.trace.rules import Ruleset, parse


def pod_places(lab: Lab) -> list[PodPlace]:
    places = []
    for o in lab.store.list("Pod"):
        box = o.status.get("sandbox") or {}
        if o.status.get("podIP") and box.get("uid") == o.uid:
            ips = tuple(p["ip"] if isinstance(p, dict) else p for p in o.status.get("podIPs") or ())
            places.append(PodPlace(o.namespace, o.name, o.status["podIP"], o.status["nodeName"], box["netns"], box["veth"], ips))
    return places


class LiveWorld:
    """Answers `netlab.trace.model.World` from the kernel; one netlink socket per namespace."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self.pods = {ip: p for p in pod_places(lab) for ip in p.ips or (p.ip,)}
        self._links: dict[str | None, Netlink] = {}
        self._rules: dict[tuple[str, int], Ruleset] = {}
        self._nft: dict[tuple[str, int], object] = {}

    def close(self) -> None:
        for link in self._links.values():
            link.close()

    def __enter__(self) -> "LiveWorld":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _nl(self, netns: str | None) -> Netlink:
        if netns not in self._links:
            self._links[netns] = Netlink(ns.netns_path(netns) if netns else None)
        return self._links[netns]

    def pod_by_ip(self, ip: str) -> PodPlace | None:
        return self.pods.get(ip)

    def node_by_underlay(self, ip: str) -> str | None:
        from netlab.metallb.speaker import ANNOUNCEMENTS_KEY

        # A node's own address, or a LoadBalancer IP the node answers ARP for (MetalLB's L2 speaker).
        announced = (self.lab.store.get_meta(ANNOUNCEMENTS_KEY) or {}).get(ip)
        for node in self.lab.topo.nodes:
            if ip in map(str, node.underlay_ips) or node.name == announced:
                if ns.is_pinned(ns.netns_path(self.node_netns(node.name))):
                    return node.name
        return None

    def node_netns(self, node: str) -> str:
        return naming.node_netns(self.lab.name, node)

    def route(self, netns: str | None, dst: str) -> RouteHit:
        nl = self._nl(netns)
        found = nl.route_get(dst)
        if found.type in ("unreachable", "error"):
            # Name the route that refused it (on the host: netlab's guard route, proto 212).
            refusing = [
                r for r in nl.routes(family=None)
                if r.type != "unicast" and r.dst != "default" and _inside(dst, r.dst)
            ]  # fmt: skip
            refusing.sort(key=lambda r: ip_network(r.dst).prefixlen, reverse=True)
            error = found.error + (f" (route: {refusing[0].type} {refusing[0].dst} proto {refusing[0].proto})" if refusing else "")
            return RouteHit(dst, found.type, error=error)
        return RouteHit(dst, found.type, found.gateway, found.dev, found.prefsrc)

    def crossing(self, node: str, route: RouteHit) -> Crossing | None:
        """Which routing mode's state sends this route's packets to another node, read from
        the node: flannel.1's (IPv6: flannel-v6.1's) neighbour and FDB entries (vxlan), the
        route's protocol (bgp: proto bird) or a plain gateway (host-gw)."""
        nl = self._nl(self.node_netns(node))
        if route.dev in (naming.VXLAN_DEVICE, naming.VXLAN6_DEVICE) and route.gateway:
            mac = next((n.lladdr for n in nl.neighbours(route.dev, family=None) if n.dst == route.gateway), None)
            remote = next((f.dst for f in nl.fdb(route.dev) if f.lladdr == mac), None) if mac else None
            device = nl.vxlan(route.dev)
            return Crossing(
                "vxlan", self.node_by_underlay(remote) if remote else None, remote or "?", device.local if device else None,
                device.vni if device else None, device.port if device else None, mac, "flanneld (netlab)", route.dev,
            )  # fmt: skip
        if not route.gateway or route.dev != naming.NODE_UPLINK:
            return None
        matching = [
            r for r in nl.routes(family=None)
            if r.dst != "default" and r.gateway == route.gateway and _inside(route.dst, r.dst)
        ]  # fmt: skip
        bird = any(r.proto == naming.RTPROT_BIRD for r in matching)
        return Crossing(
            "bgp" if bird else "host-gw", self.node_by_underlay(route.gateway), route.gateway,
            origin="BIRD (learned over iBGP)" if bird else "netlab (a static route)",
        )  # fmt: skip

    def ruleset(self, node: str, family: int = 4) -> Ruleset:
        """The node's live iptables rules of one IP family (ip6tables-save for 6)."""
        if (node, family) not in self._rules:
            self._rules[(node, family)] = parse(iptables.save(ns.netns_path(self.node_netns(node)), family))
        return self._rules[(node, family)]

    def nft_table(self, node: str, family: int = 4):
        """nftables mode: the node's live table ip (ip6) kube-proxy (None in iptables mode)."""
        if self.lab.topo.kube_proxy_mode != "nftables":
            return None
        if (node, family) not in self._nft:
            from netlab.kernel import nft
            from netlab.trace.nftwalk import NftTable, parse_table

            path, table = ns.netns_path(self.node_netns(node)), "ip6" if family == 6 else "ip"
            listed = nft.list_table(path, table, "kube-proxy", json=True)
            text = nft.list_table(path, table, "kube-proxy", handles=True) or ""
            self._nft[(node, family)] = parse_table(listed, text) if listed else NftTable()
        return self._nft[(node, family)]

    def local_addresses(self, node: str) -> frozenset[str]:
        return frozenset(self._nl(self.node_netns(node)).all_addresses())

    def veth(self, pod: PodPlace) -> tuple[LinkEnd, LinkEnd]:
        inside = {link.name: link for link in self._nl(pod.netns).links()}
        pod_end = inside.get(naming.POD_IFACE)
        node_links = self._nl(self.node_netns(pod.node)).links()
        node_end = next((link for link in node_links if link.name == pod.veth), None)
        if pod_end is None or node_end is None:
            raise KernelError(f"the veth of pod {pod.ref} is missing ({pod.veth} on {pod.node} or {naming.POD_IFACE} in {pod.netns})")
        return (
            LinkEnd(pod.netns, pod_end.name, pod_end.index, pod_end.peer_index, pod_end.master),
            LinkEnd(self.node_netns(pod.node), node_end.name, node_end.index, node_end.peer_index, node_end.master),
        )

    def listeners(self, netns: str, protocol: str, port: int) -> tuple[Listener, ...]:
        path = ns.netns_path(netns)
        rows = []
        with ns.entered(path):
            # thread-self: this thread is the one inside the namespace.
            for table in (protocol, f"{protocol}6"):
                try:
                    with open(f"/proc/thread-self/net/{table}") as f:
                        rows += sockets.parse_proc_net(f.read())
                except FileNotFoundError:  # no IPv6 in this kernel
                    pass
        found = sockets.listening(rows, protocol, port)
        if not found:
            return ()
        owners = socket_owners(path, {b.inode for b in found})
        return tuple(
            Listener(protocol, b.address, b.port, b.inode, owners.get(b.inode, (None, ""))[0], owners.get(b.inode, (None, ""))[1])
            for b in found
        )


def _inside(address: str, network: str) -> bool:
    ip, net = ip_address(address), ip_network(network, strict=False)
    return ip.version == net.version and ip in net


def socket_owners(netns_path: str, inodes: set[int]) -> dict[int, tuple[int, str]]:
    """{socket inode: (pid, command line)} among the processes of one namespace."""
    owners: dict[int, tuple[int, str]] = {}
    for pid in sorted(procs.pids_in_netns(netns_path)):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except (FileNotFoundError, PermissionError):
            continue
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inode = int(target[8:-1])
                if inode in inodes and inode not in owners:
                    owners[inode] = (pid, _cmdline(pid))
    return owners


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def require_pod(places: list[PodPlace], namespace: str, name: str) -> PodPlace:
    for p in places:
        if (p.namespace, p.name) == (namespace, name):
            return p
    raise NotFound(f'pod "{name}" in namespace "{namespace}" has no running sandbox (see: netlab get pods -n {namespace})')
