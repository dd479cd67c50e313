"""Several rtnetlink requests in one send, on a plain netlink socket: the pod side of a sandbox.

A pod's own namespace needs four small requests (`lo` up with netlab's mark, eth0's address,
eth0 up, the default route). Through an `IPRoute` each cost ~0.5 ms of pyroute2's request
machinery, and opening the `IPRoute` (its event loop) as much again: 2.6 ms a pod, half of
the sandbox. Encoded with pyroute2's own message classes and sent together, then their
acknowledgements read back, they take ~0.9 ms (scripts/bench.py's plumbing row). The
messages are pyroute2's; only the framing — requests back to back, each answered by an
`NLMSG_ERROR` carrying its sequence number — is done here, as `loopback_alias` does.
"""

from __future__ import annotations

import errno
import os
import socket
import struct
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv6Address, IPv6Interface

from pyroute2.netlink import (
    NLM_F_ACK,
    NLM_F_CREATE,
    NLM_F_EXCL,
    NLM_F_REPLACE,
    NLM_F_REQUEST,
    NLMSG_ERROR,
)
from pyroute2.netlink.rtnl import RTM_NEWADDR, RTM_NEWLINK, RTM_NEWROUTE
from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg
from pyroute2.netlink.rtnl.rtmsg import rtmsg

from netlab.errors import KernelError
from netlab.kernel import ns

IFF_UP = 0x1
IFA_F_NODAD = 0x02  # <linux/if_addr.h>
RT_TABLE_MAIN, RTPROT_STATIC, RT_SCOPE_UNIVERSE, RTN_UNICAST = 254, 4, 0, 1  # what `ip route replace` uses
_HEADER = struct.Struct("=IHHII")  # struct nlmsghdr: len, type, flags, seq, pid
# A veth is born with one queue a CPU and then cut down to one (veth_init_queues), and each cut
# waits for an RCU grace period while holding the rtnl lock: two per veth, ~1 ms each while the
# other core starts containers. Asked for one queue (`ip link add … numtxqueues 1 numrxqueues
# 1`), both ends are born as they end up anyway.
ONE_QUEUE = (("IFLA_NUM_TX_QUEUES", 1), ("IFLA_NUM_RX_QUEUES", 1))


@dataclass
class Batch:
    """Requests for one namespace, sent together by `send`. Each remembers what it does, for
    the error, and which refusals mean "already so" (an address that is there already)."""

    _messages: list[tuple[object, int, int, str, frozenset[int]]] = field(default_factory=list)

    def link_up(self, index: int, alias: str | None = None) -> "Batch":
        msg = ifinfmsg()
        msg["index"], msg["flags"], msg["change"] = index, IFF_UP, IFF_UP
        if alias is not None:
            msg["attrs"] = [("IFLA_IFALIAS", alias)]
        return self._add(msg, RTM_NEWLINK, 0, f"set link {index} up")

    def add_address(self, index: int, address: IPv4Interface | IPv6Interface) -> "Batch":
        """As `Netlink.ensure_address`: an IPv6 one without duplicate detection."""
        msg = ifaddrmsg()
        msg["family"] = socket.AF_INET6 if address.version == 6 else socket.AF_INET
        msg["prefixlen"], msg["index"] = address.network.prefixlen, index
        ip = str(address.ip)
        msg["attrs"] = [("IFA_LOCAL", ip), ("IFA_ADDRESS", ip)] if address.version == 4 else [("IFA_ADDRESS", ip)]
        if address.version == 6:
            msg["flags"] = IFA_F_NODAD
        return self._add(msg, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, f"add address {address}", frozenset({errno.EEXIST}))

    def default_route(self, gateway: IPv4Address | IPv6Address) -> "Batch":
        """`ip route replace default via GATEWAY` (proto static, table main)."""
        msg = rtmsg()
        msg["family"] = socket.AF_INET6 if gateway.version == 6 else socket.AF_INET
        msg["table"], msg["proto"], msg["scope"], msg["type"] = RT_TABLE_MAIN, RTPROT_STATIC, RT_SCOPE_UNIVERSE, RTN_UNICAST
        msg["attrs"] = [("RTA_TABLE", RT_TABLE_MAIN), ("RTA_GATEWAY", str(gateway))]
        return self._add(msg, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, f"default route via {gateway}")

    def add_veth(self, name: str, peer: str, peer_netns_fd: int, master: int, mtu: int | None = None) -> "Batch":
        """`ip link add NAME up master MASTER type veth peer name PEER netns FD`: the peer born
        inside the pod's namespace, the near end a port of the bridge at index `master`."""
        msg = ifinfmsg()
        msg["flags"] = msg["change"] = IFF_UP
        peer_attrs: list[tuple[str, object]] = [("IFLA_IFNAME", peer), ("IFLA_NET_NS_FD", peer_netns_fd), *ONE_QUEUE]
        attrs: list[tuple[str, object]] = [("IFLA_IFNAME", name), ("IFLA_MASTER", master), *ONE_QUEUE]
        if mtu is not None:  # both ends born with it
            peer_attrs.append(("IFLA_MTU", mtu))
            attrs.append(("IFLA_MTU", mtu))
        peer_info = {"attrs": [("VETH_INFO_PEER", {"attrs": peer_attrs})]}
        attrs.append(("IFLA_LINKINFO", {"attrs": [("IFLA_INFO_KIND", "veth"), ("IFLA_INFO_DATA", peer_info)]}))
        msg["attrs"] = attrs
        return self._add(msg, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, f"create veth {name} (peer {peer})")

    def hairpin(self, name: str) -> "Batch":
        """`ip link set NAME type bridge_slave hairpin on`, by name: a pod reaches itself
        through its Service (kubelet's hairpin-veth)."""
        msg = ifinfmsg()
        port = {"attrs": [("IFLA_BRPORT_MODE", 1)]}
        msg["attrs"] = [("IFLA_IFNAME", name), ("IFLA_LINKINFO", {"attrs": [("IFLA_INFO_SLAVE_KIND", "bridge"), ("IFLA_INFO_SLAVE_DATA", port)]})]
        return self._add(msg, RTM_NEWLINK, 0, f"set hairpin mode on {name}")

    def _add(self, msg, kind: int, flags: int, what: str, fine: frozenset[int] = frozenset()) -> "Batch":
        self._messages.append((msg, kind, flags, what, fine))
        return self

    def send(self, sock: socket.socket, where: str) -> None:
        """Send every request on `sock` (from `open_in`) and empty the batch; raises
        KernelError for the first one refused (the others were still carried out, as with
        separate requests)."""
        messages, self._messages = self._messages, []
        data = bytearray()
        for seq, (msg, kind, flags, _, _) in enumerate(messages, 1):
            msg["header"]["type"], msg["header"]["flags"] = kind, NLM_F_REQUEST | NLM_F_ACK | flags
            msg["header"]["sequence_number"] = seq
            msg.encode()
            data += msg.data
        sock.send(data)
        for seq, code in sorted(_acknowledgements(sock, len(messages)).items()):
            _, _, _, what, fine = messages[seq - 1]
            if code not in fine:
                raise Refused(
                    f"{what} in {where}: {os.strerror(code)}",
                    code,
                    detail="run the command again (it finishes what is missing); `netlab doctor` checks the kernel",
                )


class Refused(KernelError):
    """A request of a batch the kernel refused; `code` is its errno."""

    def __init__(self, message: str, code: int, detail: str = "") -> None:
        super().__init__(message, detail=detail)
        self.code = code


def open_in(path: str) -> socket.socket:
    """A plain rtnetlink socket in the namespace at `path`."""
    with ns.entered(path):  # a netlink socket talks to the namespace it was opened in
        return socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, socket.NETLINK_ROUTE)


def open_host() -> socket.socket:
    """A plain rtnetlink socket in this process's own namespace."""
    return socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, socket.NETLINK_ROUTE)


def _acknowledgements(sock: socket.socket, count: int) -> dict[int, int]:
    """Read `count` acknowledgements; the error code of each refused request by its sequence."""
    errors: dict[int, int] = {}
    seen = 0
    while seen < count:
        buf = sock.recv(1 << 16)
        offset = 0
        while offset + _HEADER.size <= len(buf):
            length, kind, _, seq, _ = _HEADER.unpack_from(buf, offset)
            if kind == NLMSG_ERROR:
                seen += 1
                code = -struct.unpack_from("=i", buf, offset + _HEADER.size)[0]
                if code:
                    errors[seq] = code
            offset += (length + 3) & ~3
    return errors
