"""How pods on different nodes reach each other, per routing mode (pure).

The lesson of seed 003: the CNI plugin decides how a packet crosses nodes, and there are three
classic answers, each a plan of kernel state on every node:

- **host-gw** (flannel's host-gw backend): a plain route per other node's pod /24, via that
  node's underlay address. The underlay must be one L2 segment; nothing is encapsulated.
- **vxlan** (flannel's vxlan backend, `backend/vxlan/device.go`): a VTEP `flannel.1` (VNI 1,
  UDP 8472, local = the node's underlay address, nolearning) holding `x.x.N.0/32`; for every
  other live node a route `x.x.M.0/24 via x.x.M.0 dev flannel.1 onlink`, a permanent neighbour
  entry (x.x.M.0 → the other VTEP's MAC) and an FDB entry (that MAC → the node's underlay
  address). The inner frame rides in UDP across the underlay; pods get a 50-byte smaller MTU.
- **bgp** (Calico's node-to-node mesh, `confd/etc/calico/confd/templates/bird.cfg.template`):
  netlab installs no route at all. BIRD in each node exports a blackhole route for the node's
  block over iBGP to every other node and writes the routes it learns into the kernel
  (`proto bird`, next hop the other node's underlay address).

`plan` says what a node should hold; `lab/vxlan.py` and `lab/bird.py` make it so.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network

from netlab import naming
from netlab.api.addressing import NodeNet, Topology

MODES = ("host-gw", "vxlan", "bgp")

# flannel's vxlan backend defaults (backend/vxlan/vxlan.go): VNI 1, the Linux kernel's
# historical VXLAN port 8472 rather than IANA's 4789.
VXLAN_VNI = 1
VXLAN_PORT = 8472

# Calico's default AS number; every node in it, so the sessions are iBGP.
BGP_AS = 64512
# Lab-friendly timers: a node that dies is noticed within HOLD seconds and its routes withdrawn
# (Calico keeps BIRD's 240 s hold, 80 s keepalive). BIRD retries a lost peer after
# ERROR_WAIT (default 60-300 s), so a recovered node is back in the mesh within seconds.
BGP_HOLD = 3
BGP_KEEPALIVE = 1
BGP_CONNECT_RETRY = 1
BGP_ERROR_WAIT = (1, 3)


@dataclass(frozen=True)
class PodRoute:
    """A route netlab installs towards another node's pods."""

    dst: IPv4Network
    gateway: IPv4Address
    dev: str
    onlink: bool = False

    @property
    def text(self) -> str:
        return f"{self.dst} via {self.gateway} dev {self.dev}" + (" onlink" if self.onlink else "")


@dataclass(frozen=True)
class Vtep:
    """A node's own VXLAN device, as flanneld creates it."""

    name: str
    vni: int
    port: int
    local: IPv4Address  # the node's underlay address: the outer source
    underlay_dev: str
    mac: str
    address: IPv4Address  # x.x.N.0/32, the node's subnet's network address
    mtu: int


@dataclass(frozen=True)
class VxlanPeer:
    """Another node's VTEP, as this node's neighbour and FDB entries know it."""

    node: str
    subnet: IPv4Network
    vtep_ip: IPv4Address  # x.x.M.0
    mac: str
    underlay_ip: IPv4Address  # the outer destination


@dataclass(frozen=True)
class NodeRouting:
    node: str
    mode: str
    routes: tuple[PodRoute, ...]
    vtep: Vtep | None = None
    peers: tuple[VxlanPeer, ...] = ()
    bird_config: str | None = None

    def commands(self) -> list[str]:
        """The plan as the `ip` commands a person would type in the node (docs, goldens)."""
        out = []
        if self.vtep:
            v = self.vtep
            out.append(
                f"ip link add {v.name} type vxlan id {v.vni} local {v.local} dev {v.underlay_dev} "
                f"dstport {v.port} nolearning"
            )
            out.append(f"ip link set {v.name} address {v.mac} mtu {v.mtu} up")
            out.append(f"ip addr add {v.address}/32 dev {v.name}")
        for p in self.peers:
            out.append(f"ip neigh replace {p.vtep_ip} lladdr {p.mac} dev {naming.VXLAN_DEVICE} nud permanent")
            out.append(f"bridge fdb replace {p.mac} dev {naming.VXLAN_DEVICE} dst {p.underlay_ip} self permanent")
        out += [f"ip route replace {r.text}" for r in self.routes]
        if self.bird_config is not None:
            out.append(f"bird -c {self.node}.conf   # no route from netlab: BIRD learns them over iBGP (proto bird)")
        return out


def vtep_address(node: NodeNet) -> IPv4Address:
    """flannel gives flannel.1 the network address of the node's subnet (x.x.N.0/32)."""
    return node.subnet.network_address


def plan(topo: Topology, node: NodeNet, down: frozenset[str] = frozenset()) -> NodeRouting:
    """What `node` should hold to reach the other nodes' pods; `down` are failed nodes."""
    others = [n for n in topo.nodes if n.name != node.name]
    if topo.routing == "host-gw":
        # As before netlab had modes: a static route stays while its node is down (the next
        # hop simply does not answer), as a host-gw route does until flannel's lease expires.
        # One route per family: the IPv6 /64 via the other node's IPv6 underlay address.
        routes = tuple(
            PodRoute(subnet, gateway, naming.NODE_UPLINK)
            for o in others
            for subnet, gateway in zip(o.subnets, o.underlay_ips, strict=True)
        )
        return NodeRouting(node.name, "host-gw", routes)
    if topo.routing == "vxlan":
        live = [o for o in others if o.name not in down]
        vtep = Vtep(
            naming.VXLAN_DEVICE, VXLAN_VNI, VXLAN_PORT, node.underlay_ip, naming.NODE_UPLINK,
            naming.vtep_mac(topo.cluster, node.name), vtep_address(node), topo.pod_mtu,
        )  # fmt: skip
        peers = tuple(
            VxlanPeer(o.name, o.subnet, vtep_address(o), naming.vtep_mac(topo.cluster, o.name), o.underlay_ip)
            for o in live
        )
        routes = tuple(PodRoute(p.subnet, p.vtep_ip, naming.VXLAN_DEVICE, onlink=True) for p in peers)
        return NodeRouting(node.name, "vxlan", routes, vtep, peers)
    if topo.routing == "bgp":
        return NodeRouting(node.name, "bgp", (), bird_config=bird_config(topo, node))
    raise ValueError(f"unknown routing mode {topo.routing!r}")


def bgp_protocol(node: str) -> str:
    """BIRD's name for the session to `node` (letters, digits and _ only), like Calico's
    Mesh_172_31_255_12 but named after the node."""
    return "mesh_" + "".join(c if c.isalnum() else "_" for c in node)


def bird_config(topo: Topology, node: NodeNet) -> str:
    """bird.conf for one node: Calico's node-to-node mesh, reduced to what the lab shows."""
    lines = [
        f"# BIRD 2 for node {node.name} of lab {topo.cluster}, written by netlab (routing: bgp).",
        "# Calico's node-to-node mesh: iBGP to every other node over the underlay.",
        f"router id {node.underlay_ip};",
        "log stderr all;  # netlab keeps it in the node's log: state/<cluster>/bird/<node>.log",
        "",
        "# Learn the node's interfaces (BGP needs to know the underlay is directly connected).",
        "protocol device {",
        "  scan time 2;",
        "}",
        "",
        "# The node's block, as Calico announces it: a blackhole for the whole /24 in BIRD's",
        "# table (the kernel keeps its own connected route on cni0, which is more useful here).",
        "protocol static blocks {",
        "  ipv4;",
        f"  route {node.subnet} blackhole;",
        "}",
        "",
        "# Write what the other nodes announce into the kernel's main table (proto bird).",
        "protocol kernel {",
        "  ipv4 {",
        "    import none;",
        "    export where source = RTS_BGP;",
        "  };",
        "  merge paths on;",
        "}",
        "",
        "template bgp mesh {",
        f"  local {node.underlay_ip} as {BGP_AS};",
        "  direct;",
        "  connect delay time 0;",
        f"  hold time {BGP_HOLD};",
        f"  keepalive time {BGP_KEEPALIVE};",
        f"  connect retry time {BGP_CONNECT_RETRY};",
        f"  error wait time {BGP_ERROR_WAIT[0]}, {BGP_ERROR_WAIT[1]};",
        "  ipv4 {",
        "    import all;",
        '    export where proto = "blocks";',
        "    next hop self;",
        "  };",
        "}",
    ]
    for other in topo.nodes:
        if other.name == node.name:
            continue
        lines += ["", f"protocol bgp {bgp_protocol(other.name)} from mesh {{", f"  neighbor {other.underlay_ip} as {BGP_AS};", "}"]
    return "\n".join(lines) + "\n"
