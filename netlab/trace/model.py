"""What a trace is made of: the kernel facts it reads and the steps it reports (plain data).

`World` is everything the path assembly asks the kernel; `netlab.trace.live` answers from the
real namespaces, unit tests answer from captured text. Steps are frozen and JSON-ready.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from netlab.trace.rules import Ruleset
from netlab.trace.walk import Packet

# Verdicts of a whole trace.
DELIVERED = "delivered"  # a process listens on the port: the connection would be accepted
REFUSED = "refused"  # reached the pod or node, nothing listens: TCP RST / ICMP port unreachable
REJECTED = "rejected"  # an iptables REJECT rule answered (e.g. a Service without endpoints)
DROPPED = "dropped"  # no route, a DROP rule or policy: the client times out


@dataclass(frozen=True)
class PodPlace:
    namespace: str
    name: str
    ip: str
    node: str
    netns: str  # the pod's network namespace name
    veth: str  # the node-side end of its veth, a port of cni0
    ips: tuple[str, ...] = ()  # status.podIPs (primary first; () = just `ip`)

    def ip_for(self, family: int) -> str | None:
        return next((a for a in self.ips or (self.ip,) if (":" in a) == (family == 6)), None)

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class RouteHit:
    """`ip route get DST` in one namespace."""

    dst: str
    type: str  # unicast | local | unreachable | blackhole | prohibit | error
    gateway: str | None = None
    dev: str | None = None
    prefsrc: str | None = None
    error: str = ""  # the kernel's answer when there is no route ("Network is unreachable")

    @property
    def text(self) -> str:
        if self.type == "error":
            return f"{self.dst}: {self.error}"
        parts = [self.dst] if self.type == "unicast" else [self.type, self.dst]
        if self.gateway:
            parts += ["via", self.gateway]
        if self.dev:
            parts += ["dev", self.dev]
        if self.prefsrc:
            parts += ["src", self.prefsrc]
        return " ".join(parts) + (f": {self.error}" if self.error else "")


@dataclass(frozen=True)
class LinkEnd:
    netns: str
    name: str
    index: int
    peer_index: int | None  # a veth's IFLA_LINK: the other end's ifindex (in the other netns)
    master: str | None = None

    @property
    def text(self) -> str:
        peer = f"@if{self.peer_index}" if self.peer_index else ""
        return f"{self.name}{peer} (ifindex {self.index})"


@dataclass(frozen=True)
class Listener:
    protocol: str
    address: str
    port: int
    inode: int
    pid: int | None
    command: str  # the process's command line, "" when unknown

    @property
    def text(self) -> str:
        who = f"pid {self.pid} {self.command}".strip() if self.pid else f"socket inode {self.inode}"
        return f"{self.protocol} {self.address}:{self.port} ({who})"


@dataclass(frozen=True)
class Crossing:
    """How a packet routed to another node's pods crosses the underlay, per routing mode."""

    mode: str  # host-gw | vxlan | bgp
    node: str | None  # the node it reaches (None: no live node there)
    address: str  # the underlay address the (outer) packet is sent to
    outer_src: str | None = None  # vxlan: the local VTEP's underlay address
    vni: int | None = None
    port: int | None = None  # vxlan: the UDP destination port
    mac: str | None = None  # vxlan: the remote VTEP's MAC (neighbour entry -> FDB entry)
    origin: str = ""  # who wrote the route: "netlab", "BIRD (BGP)", "flanneld"
    dev: str | None = None  # vxlan: the VTEP it leaves by (flannel.1, or flannel-v6.1 for IPv6)


class World(Protocol):
    def pod_by_ip(self, ip: str) -> PodPlace | None: ...
    def node_by_underlay(self, ip: str) -> str | None: ...
    def node_netns(self, node: str) -> str: ...
    def route(self, netns: str | None, dst: str) -> RouteHit: ...
    def ruleset(self, node: str, family: int = 4) -> Ruleset: ...  # iptables-save or ip6tables-save
    def local_addresses(self, node: str) -> frozenset[str]: ...
    def veth(self, pod: PodPlace) -> tuple[LinkEnd, LinkEnd]: ...
    def listeners(self, netns: str, protocol: str, port: int) -> tuple[Listener, ...]: ...
    def crossing(self, node: str, route: RouteHit) -> Crossing | None: ...


@dataclass(frozen=True)
class Step:
    kind: str  # dns, route, veth, bridge, netfilter, underlay, pod, socket, probe
    where: str  # "pod default/client", "node node-a", "host"
    object: str  # the kernel object, named as `ip`/`iptables-save` name it
    decision: str
    details: tuple[str, ...] = ()
    data: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class Source:
    kind: str  # pod | node | host
    name: str  # "default/client", "node-a", "host"
    ip: str  # the address the packet leaves with
    netns: str | None  # None for the host
    node: str | None = None  # the pod's node, or the node itself
    pod: PodPlace | None = None


@dataclass(frozen=True)
class Trace:
    source: str
    destination: str  # as the user gave it
    packet: Packet  # the first packet as it leaves the source
    steps: tuple[Step, ...]
    verdict: str
    reason: str
    endpoint: str | None = None  # "ip:port" the Service DNAT chose (or the probe saw)
    reached: str | None = None  # "pod default/web-a" or "node node-a"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["steps"] = [{"n": i, **asdict(s)} for i, s in enumerate(self.steps, 1)]
        return d
