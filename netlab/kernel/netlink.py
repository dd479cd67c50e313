"""The thin adapter over pyroute2: one netlink socket bound to one network namespace.

The socket is opened by entering the namespace on this thread (`ns.entered`) — 5.7 ms per pod
instead of 48 ms with pyroute2's `netns=` helper process (docs/architecture.md). Verbs state their
contract like the CNI plugins' `ensureBridge`: `ensure_*` tolerates "exists" and leaves the
object as asked; `delete_*` treats "missing" as success.
"""

from __future__ import annotations

import errno
import os
import socket
from dataclasses import dataclass
from ipaddress import IPv4Interface, IPv4Network, IPv6Interface, IPv6Network, ip_interface, ip_network

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from netlab.errors import KernelError
from netlab.kernel import ns, rtbatch


@dataclass(frozen=True)
class Route:
    dst: str  # "10.244.2.0/24" or "default"
    gateway: str | None
    dev: str | None
    type: str  # "unicast", "unreachable", ...
    proto: int
    metric: int


@dataclass(frozen=True)
class RouteLookup:
    """The kernel's answer to `ip route get DST`: the route a packet to DST would take."""

    dst: str
    type: str  # "unicast", "local", or "unreachable"/"error" when the kernel refuses
    gateway: str | None = None
    dev: str | None = None
    prefsrc: str | None = None
    error: str = ""


@dataclass(frozen=True)
class Link:
    name: str
    index: int
    kind: str | None  # "veth", "bridge", ...
    master: str | None  # the bridge this link is a port of
    peer_index: int | None  # IFLA_LINK: a veth's other end's ifindex (in its own netns)


RTNH_F_ONLINK = 4  # <linux/rtnetlink.h>
NUD_PERMANENT = 0x80  # <linux/neighbour.h>
NUD_NOARP = 0x40
NTF_SELF = 0x02
AF_BRIDGE = 7
AF_INET, AF_INET6, AF_UNSPEC = 2, 10, 0
IFA_F_NODAD = 0x02  # <linux/if_addr.h>: an IPv6 address usable at once, no duplicate detection


def _af(family: int | None) -> int:
    """netlab's family (4, 6, None = both) as the kernel's address family."""
    return {4: AF_INET, 6: AF_INET6, None: AF_UNSPEC}[family]


def _af_of(ip: str) -> int:
    return AF_INET6 if ":" in ip else AF_INET


@dataclass(frozen=True)
class Neighbour:
    """An `ip neigh` entry (family inet) or a `bridge fdb` entry (dst = the remote VTEP)."""

    dev: str
    lladdr: str
    dst: str | None
    permanent: bool


@dataclass(frozen=True)
class Vxlan:
    """A VXLAN device as the kernel reports it (`ip -d link show flannel.1`)."""

    name: str
    vni: int
    port: int
    local: str | None
    learning: bool
    mac: str
    mtu: int
    link: str | None  # the underlay device


_ROUTE_TYPES = {1: "unicast", 2: "local", 3: "broadcast", 6: "blackhole", 7: "unreachable", 8: "prohibit"}


def _fail(what: str, exc: NetlinkError) -> KernelError:
    return KernelError(
        f"{what}: {exc.args[1] if len(exc.args) > 1 else exc}",
        detail="run the command again (it finishes what is missing); `netlab doctor` checks the kernel",
    )


class Netlink:
    """Netlink operations inside one namespace (`path` None = the host's own)."""

    def __init__(self, path: str | None = None) -> None:
        self.path = path
        # Link indexes by name, valid for this socket's short life (one reconcile): the
        # name lookups were 40% of a pod's plumbing (scripts/bench.py).
        self._indexes: dict[str, int] = {}
        self._plain: socket.socket | None = None  # for batched requests (`add_bridge_port`)
        if path is None:
            self._ipr = IPRoute()
        else:
            with ns.entered(path):
                self._ipr = IPRoute()

    def close(self) -> None:
        self._ipr.close()
        if self._plain is not None:
            self._plain.close()

    def __enter__(self) -> "Netlink":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- links -----------------------------------------------------------------------------

    def index(self, name: str) -> int | None:
        if name in self._indexes:
            return self._indexes[name]
        found = self._ipr.link_lookup(ifname=name)
        if found:
            self._indexes[name] = found[0]
            return found[0]
        return None

    def _require(self, name: str) -> int:
        idx = self.index(name)
        if idx is None:
            raise KernelError(f"link {name} not found in {self.path or 'host'}")
        return idx

    def link_names(self) -> list[str]:
        return [link.get_attr("IFLA_IFNAME") for link in self._ipr.get_links()]

    def alias(self, name: str) -> str | None:
        idx = self.index(name)
        if idx is None:
            return None
        try:
            return self._ipr.get_links(idx)[0].get_attr("IFLA_IFALIAS")
        except NetlinkError as exc:
            if exc.code != errno.ENODEV:
                raise
            # Gone since it was listed: a veth whose twin's namespace was just deleted (by
            # this lab's teardown, or by another lab's on the same machine).
            self._indexes.pop(name, None)
            return None

    def _set(self, what: str, **attrs: object) -> None:
        """One `ip link set`; a refusal becomes a KernelError naming the link and namespace."""
        try:
            self._ipr.link("set", **attrs)
        except NetlinkError as exc:
            raise _fail(f"{what} in {self.path or 'the host namespace'}", exc) from None

    def set_alias(self, name: str, alias: str) -> None:
        self._set(f"set alias of {name}", index=self._require(name), ifalias=alias)

    def mark_loopback(self, alias: str) -> None:
        """`lo` up, carrying `alias`, in one request: lo is ifindex 1 in every namespace
        (the kernel's LOOPBACK_IFINDEX), so no lookup is needed."""
        self._set("mark lo", index=1, ifalias=alias, state="up")

    def ensure_bridge(self, name: str) -> int:
        idx = self.index(name)
        if idx is None:
            try:
                self._ipr.link("add", ifname=name, kind="bridge")
            except NetlinkError as exc:
                if exc.code != errno.EEXIST:
                    raise _fail(f"create bridge {name}", exc) from None
            idx = self._require(name)
        kind = self._ipr.get_links(idx)[0].get_attr("IFLA_LINKINFO").get_attr("IFLA_INFO_KIND")
        if kind != "bridge":
            raise KernelError(f"{name} exists in {self.path or 'host'} but is a {kind}, not a bridge")
        return idx

    def add_veth(
        self,
        name: str,
        peer: str,
        peer_netns: str | None,
        *,
        master: str | None = None,
        peer_mac: str | None = None,
        mtu: int | None = None,
    ) -> None:
        """A veth pair, the near end up and enslaved to `master` (a bridge) in the same
        request; the peer is created directly inside `peer_netns` (one syscall, no move).
        A link of the same name left here (a namespace removed a moment ago may still hold
        its twin while the kernel frees it in the background) is removed and the add tried
        again."""
        # One queue each end, as born (`rtbatch.ONE_QUEUE`): no grace period under the rtnl lock.
        peer_spec: dict[str, object] = {"ifname": peer, "num_tx_queues": 1, "num_rx_queues": 1}
        if peer_mac:
            peer_spec["address"] = peer_mac
        request: dict[str, object] = {"ifname": name, "kind": "veth", "state": "up", "peer": peer_spec, "num_tx_queues": 1, "num_rx_queues": 1}
        if mtu is not None:  # both ends born with it (the overlay's MTU in vxlan mode)
            request["mtu"] = peer_spec["mtu"] = mtu
        if master is not None:
            request["master"] = self._require(master)
        fd = None
        if peer_netns is not None:
            fd = ns.open_ns(peer_netns)
            peer_spec["net_ns_fd"] = fd
        try:
            try:
                self._ipr.link("add", **request)
            except NetlinkError as exc:
                if exc.code != errno.EEXIST or not self.delete_link(name):
                    raise
                self._ipr.link("add", **request)
        except NetlinkError as exc:
            raise _fail(f"create veth {name} (peer {peer})", exc) from None
        finally:
            if fd is not None:
                os.close(fd)

    def add_bridge_port(self, name: str, peer: str, peer_netns: str, master: str, mtu: int | None = None) -> None:
        """A pod's veth: `add_veth` with the peer in `peer_netns` and the near end a port of
        bridge `master` with hairpin mode on — both requests in one send on a plain socket
        (`rtbatch`: ~1.5 ms a pod less than through pyroute2's request machinery). A link of
        the same name left here goes the way `add_veth` clears it."""
        if self._plain is None:
            self._plain = rtbatch.open_in(self.path) if self.path is not None else rtbatch.open_host()
        fd = ns.open_ns(peer_netns)
        try:
            rtbatch.Batch().add_veth(name, peer, fd, self._require(master), mtu).hairpin(name).send(self._plain, self.path or "the host")
        except rtbatch.Refused as exc:
            if exc.code != errno.EEXIST:
                raise
            self.add_veth(name, peer, peer_netns, master=master, mtu=mtu)
            self.set_hairpin(name)
        finally:
            os.close(fd)

    def learn(self, name: str, index: int) -> None:
        """Link `name` is at `index` in this namespace (made through another socket, at an
        index known in advance): later verbs on it need no lookup."""
        self._indexes[name] = index

    def set_up(self, name: str) -> None:
        self._set(f"set {name} up", index=self._require(name), state="up")

    def set_mtu(self, name: str, mtu: int) -> None:
        self._ipr.link("set", index=self._require(name), mtu=mtu)

    def mtu(self, name: str) -> int | None:
        idx = self.index(name)
        return None if idx is None else self._ipr.get_links(idx)[0].get_attr("IFLA_MTU")

    def set_master(self, name: str, bridge: str) -> None:
        self._set(f"attach {name} to {bridge}", index=self._require(name), master=self._require(bridge))

    def set_hairpin(self, name: str) -> None:
        # Hairpin mode lets a pod reach itself through its Service (kubelet's hairpin-veth).
        # By name: the kernel finds the port, no lookup round trip.
        self._set(f"set hairpin mode on {name}", ifname=name, kind="bridge_slave", mode=1)

    def delete_link(self, name: str) -> bool:
        idx = self.index(name)
        if idx is None:
            return False
        self._indexes.pop(name, None)
        try:
            self._ipr.link("del", index=idx)
        except NetlinkError as exc:
            if exc.code != errno.ENODEV:
                raise _fail(f"delete link {name}", exc) from None
        return True

    def bridge_ports(self, bridge: str) -> list[str]:
        br = self.index(bridge)
        if br is None:
            return []
        return [
            link.get_attr("IFLA_IFNAME")
            for link in self._ipr.get_links()
            if link.get_attr("IFLA_MASTER") == br
        ]

    # -- VXLAN (flannel.1) ----------------------------------------------------------------

    def vxlan(self, name: str) -> Vxlan | None:
        idx = self.index(name)
        if idx is None:
            return None
        link = self._ipr.get_links(idx)[0]
        info = link.get_attr("IFLA_LINKINFO")
        if info is None or info.get_attr("IFLA_INFO_KIND") != "vxlan":
            raise KernelError(f"{name} exists in {self.path or 'host'} but is not a VXLAN device")
        data = info.get_attr("IFLA_INFO_DATA")
        names = {lk["index"]: lk.get_attr("IFLA_IFNAME") for lk in self._ipr.get_links()}
        return Vxlan(
            name,
            data.get_attr("IFLA_VXLAN_ID"),
            data.get_attr("IFLA_VXLAN_PORT"),
            data.get_attr("IFLA_VXLAN_LOCAL") or data.get_attr("IFLA_VXLAN_LOCAL6"),
            bool(data.get_attr("IFLA_VXLAN_LEARNING")),
            link.get_attr("IFLA_ADDRESS"),
            link.get_attr("IFLA_MTU"),
            names.get(data.get_attr("IFLA_VXLAN_LINK")),
        )

    def ensure_vxlan(self, name: str, *, vni: int, port: int, local: str, dev: str, mac: str, mtu: int) -> None:
        """A VXLAN device as asked (re-made if an existing one differs in VNI, port or local
        address, which the kernel cannot change in place), with its MAC and MTU, up."""
        current = self.vxlan(name)
        if current and (current.vni, current.port, current.local, current.learning) != (vni, port, local, False):
            self.delete_link(name)
            current = None
        if current is None:
            # An IPv6 local address makes an IPv6 VTEP (flannel-v6.1): outer packets in IPv6.
            where = {"vxlan_local6" if ":" in local else "vxlan_local": local}
            try:
                self._ipr.link(
                    "add", ifname=name, kind="vxlan", vxlan_id=vni, vxlan_port=port, **where,
                    vxlan_link=self._require(dev), vxlan_learning=0, address=mac, mtu=mtu,
                )  # fmt: skip
            except NetlinkError as exc:
                raise _fail(f"create VXLAN device {name}", exc) from None
        elif (current.mac, current.mtu) != (mac, mtu):
            self._ipr.link("set", index=self._require(name), address=mac, mtu=mtu)
        self.set_up(name)

    def neighbours(self, dev: str, family: int | None = 4) -> list[Neighbour]:
        """The neighbour entries of `dev` (IPv4 unless asked; None: both families)."""
        idx = self.index(dev)
        if idx is None:
            return []
        return [
            Neighbour(dev, n.get_attr("NDA_LLADDR"), n.get_attr("NDA_DST"), bool(n["state"] & NUD_PERMANENT))
            for n in self._ipr.get_neighbours(family=_af(family), ifindex=idx)
            if n.get_attr("NDA_LLADDR")
        ]

    def ensure_neighbour(self, dev: str, ip: str, mac: str) -> None:
        """A permanent `ip neigh` entry: no ARP is ever sent for it (flannel's VTEP addresses)."""
        try:
            self._ipr.neigh("replace", family=_af_of(ip), ifindex=self._require(dev), dst=ip, lladdr=mac, state=NUD_PERMANENT)
        except NetlinkError as exc:
            raise _fail(f"neighbour {ip} on {dev}", exc) from None

    def delete_neighbour(self, dev: str, ip: str) -> None:
        idx = self.index(dev)
        if idx is None:
            return
        try:
            self._ipr.neigh("del", family=_af_of(ip), ifindex=idx, dst=ip)
        except NetlinkError as exc:
            if exc.code not in (errno.ENOENT, errno.ESRCH):
                raise _fail(f"delete neighbour {ip} on {dev}", exc) from None

    def fdb(self, dev: str) -> list[Neighbour]:
        """The forwarding entries of a VXLAN device that name a remote VTEP."""
        idx = self.index(dev)
        if idx is None:
            return []
        return [
            Neighbour(dev, n.get_attr("NDA_LLADDR"), n.get_attr("NDA_DST"), bool(n["state"] & NUD_PERMANENT))
            for n in self._ipr.get_neighbours(family=AF_BRIDGE, ifindex=idx)
            if n.get_attr("NDA_DST")
        ]

    def ensure_fdb(self, dev: str, mac: str, dst: str) -> None:
        """`bridge fdb replace MAC dev DEV dst DST self permanent`."""
        try:
            self._ipr.neigh(
                "replace", family=AF_BRIDGE, ifindex=self._require(dev), lladdr=mac, dst=dst,
                state=NUD_PERMANENT | NUD_NOARP, flags=NTF_SELF,
            )  # fmt: skip
        except NetlinkError as exc:
            raise _fail(f"fdb {mac} dst {dst} on {dev}", exc) from None

    def delete_fdb(self, dev: str, mac: str, dst: str) -> None:
        idx = self.index(dev)
        if idx is None:
            return
        try:
            self._ipr.neigh(
                "del", family=AF_BRIDGE, ifindex=idx, lladdr=mac, dst=dst, state=NUD_PERMANENT | NUD_NOARP, flags=NTF_SELF
            )
        except NetlinkError as exc:
            if exc.code not in (errno.ENOENT, errno.ESRCH):
                raise _fail(f"delete fdb {mac} on {dev}", exc) from None

    # -- addresses -------------------------------------------------------------------------

    def ensure_address(self, name: str, address: IPv4Interface | IPv6Interface) -> None:
        """Add an address; an IPv6 one without duplicate detection (usable at once, as the
        lab's addresses are unique by construction)."""
        self._add_address(name, address, {"flags": IFA_F_NODAD} if address.version == 6 else {})

    def ensure_service_address(self, name: str, address: IPv4Interface | IPv6Interface) -> None:
        """Add an address the node answers for but never picks as its own source (an announced
        load-balancer IP): in IPv6 one that is "deprecated" from the start (preferred_lft 0),
        which source selection avoids (RFC 6724 rule 3); IPv4 prefers the subnet's first address."""
        extra = {"flags": IFA_F_NODAD, "preferred_lft": 0, "valid_lft": 0xFFFFFFFF} if address.version == 6 else {}
        self._add_address(name, address, extra)

    def _add_address(self, name: str, address: IPv4Interface | IPv6Interface, extra: dict) -> None:
        try:
            self._ipr.addr(
                "add",
                index=self._require(name),
                address=str(address.ip),
                prefixlen=address.network.prefixlen,
                **extra,
            )
        except NetlinkError as exc:
            if exc.code != errno.EEXIST:
                raise _fail(f"add address {address} to {name}", exc) from None

    def delete_address(self, name: str, address: IPv4Interface | IPv6Interface) -> None:
        """Remove an address; one that is already gone (or a missing link) is success."""
        idx = self.index(name)
        if idx is None:
            return
        try:
            self._ipr.addr("del", index=idx, address=str(address.ip), prefixlen=address.network.prefixlen)
        except NetlinkError as exc:
            if exc.code not in (errno.EADDRNOTAVAIL, errno.ENOENT, errno.ENODEV):
                raise _fail(f"delete address {address} from {name}", exc) from None

    def mac(self, name: str) -> str:
        return self._ipr.get_links(self._require(name))[0].get_attr("IFLA_ADDRESS")

    def addresses(self, name: str, family: int | None = 4) -> list[IPv4Interface | IPv6Interface]:
        """The addresses of a link (IPv4 unless asked; None: both), link-local ones left out."""
        idx = self.index(name)
        if idx is None:
            return []
        found = [
            ip_interface(f"{a.get_attr('IFA_ADDRESS')}/{a['prefixlen']}")
            for a in self._ipr.get_addr(index=idx, family=_af(family))
        ]
        return [a for a in found if not a.ip.is_link_local]

    # -- routes ----------------------------------------------------------------------------

    def ensure_route(
        self,
        dst: str,
        *,
        gateway: str | None = None,
        dev: str | None = None,
        type: str = "unicast",
        proto: int | None = None,
        metric: int | None = None,
        onlink: bool = False,
    ) -> None:
        spec: dict[str, object] = {"dst": dst, "type": type}
        if onlink:  # the gateway need not be on a connected subnet (flannel's x.x.N.0 next hops)
            spec["flags"] = RTNH_F_ONLINK
        if gateway:
            spec["gateway"] = gateway
        if dev:
            spec["oif"] = self._require(dev)
        if proto is not None:
            spec["proto"] = proto
        if metric is not None:
            spec["priority"] = metric
        try:
            self._ipr.route("replace", **spec)
        except NetlinkError as exc:
            raise _fail(f"route {dst} in {self.path or 'host'}", exc) from None

    def delete_route(self, route: Route) -> None:
        spec: dict[str, object] = {"dst": route.dst, "type": route.type, "proto": route.proto}
        if route.gateway:
            spec["gateway"] = route.gateway
        if route.metric:
            spec["priority"] = route.metric
        try:
            self._ipr.route("del", **spec)
        except NetlinkError as exc:
            if exc.code not in (errno.ESRCH, errno.ENOENT):
                raise _fail(f"delete route {route.dst}", exc) from None

    def routes(self, family: int | None = 4) -> list[Route]:
        """The main table's routes (IPv4 unless asked; None: both families)."""
        names = {link["index"]: link.get_attr("IFLA_IFNAME") for link in self._ipr.get_links()}
        out = []
        for r in self._ipr.get_routes(family=_af(family), table=254):
            dst = r.get_attr("RTA_DST")
            out.append(
                Route(
                    dst=f"{dst}/{r['dst_len']}" if dst else "default",
                    gateway=r.get_attr("RTA_GATEWAY"),
                    dev=names.get(r.get_attr("RTA_OIF")),
                    type={1: "unicast", 6: "blackhole", 7: "unreachable", 8: "prohibit"}.get(
                        r["type"], str(r["type"])
                    ),
                    proto=r["proto"],
                    metric=r.get_attr("RTA_PRIORITY") or 0,
                )
            )
        return out

    def route_get(self, dst: str) -> RouteLookup:
        """`ip route get DST`; a refusal (unreachable route, no route) is an answer, not an error."""
        try:
            msg = self._ipr.route("get", dst=dst)[0]
        except NetlinkError as exc:
            kind = "unreachable" if exc.code == errno.EHOSTUNREACH else "error"
            return RouteLookup(dst, kind, error=exc.args[1] if len(exc.args) > 1 else str(exc))
        oif = msg.get_attr("RTA_OIF")
        return RouteLookup(
            dst,
            _ROUTE_TYPES.get(msg["type"], str(msg["type"])),
            msg.get_attr("RTA_GATEWAY"),
            self._ipr.get_links(oif)[0].get_attr("IFLA_IFNAME") if oif else None,
            msg.get_attr("RTA_PREFSRC"),
        )

    def links(self) -> list[Link]:
        raw = self._ipr.get_links()
        names = {link["index"]: link.get_attr("IFLA_IFNAME") for link in raw}
        out = []
        for link in raw:
            info = link.get_attr("IFLA_LINKINFO")
            out.append(
                Link(
                    name=link.get_attr("IFLA_IFNAME"),
                    index=link["index"],
                    kind=info.get_attr("IFLA_INFO_KIND") if info else None,
                    master=names.get(link.get_attr("IFLA_MASTER")),
                    peer_index=link.get_attr("IFLA_LINK"),
                )
            )
        return out

    def all_addresses(self, family: int | None = 4) -> list[str]:
        """Every address of the namespace (for addrtype LOCAL); IPv4 unless asked."""
        return [a.get_attr("IFA_ADDRESS") for a in self._ipr.get_addr(family=_af(family))]

    def networks_routed(self, family: int | None = 4) -> list[tuple[IPv4Network | IPv6Network, Route]]:
        """Every non-default route as a network, for overlap checks."""
        return [(ip_network(r.dst), r) for r in self.routes(family) if r.dst != "default"]


# -- one request without an IPRoute ------------------------------------------------------------

NLMSG_ERROR = 2  # <linux/netlink.h>


def loopback_alias(path: str) -> str | None:
    """The alias of `lo` in the namespace at `path` (netlab's ownership mark), read with one
    RTM_GETLINK on a plain netlink socket. A teardown asks this of every pod it removes, and
    opening an `IPRoute` (its own event loop, a link lookup) cost ten times the request: about
    70% of deleting 100 pods. Raises OSError (or KernelError) when `path` is no namespace."""
    import socket
    import struct

    from pyroute2.netlink import NLM_F_REQUEST
    from pyroute2.netlink.rtnl import RTM_GETLINK
    from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg

    with ns.entered(path):  # a netlink socket talks to the namespace it was opened in
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    with sock:
        request = ifinfmsg()
        request["index"] = 1  # lo is LOOPBACK_IFINDEX in every namespace
        request["header"]["type"] = RTM_GETLINK
        request["header"]["flags"] = NLM_F_REQUEST
        request["header"]["sequence_number"] = 1
        request.encode()
        sock.send(request.data)
        data = sock.recv(1 << 16)
    _, kind = struct.unpack_from("=IH", data)
    if kind == NLMSG_ERROR:
        code = -struct.unpack_from("=i", data, 16)[0]
        raise OSError(code, f"RTM_GETLINK lo in {path}: {os.strerror(code)}")
    reply = ifinfmsg(data)
    reply.decode()
    return reply.get_attr("IFLA_IFALIAS")
