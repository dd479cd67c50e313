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
  IPv6 has its own VTEP, as dual-stack flannel makes it (`createVXLANDevice`, EnableIPv6):
  `flannel-v6.1`, same VNI and port, local = the node's IPv6 underlay address, holding the
  network address of the node's /64 as a /128, with the same three entries per other node
  (`AddV6ARP`, `AddV6FDB`, the onlink v6 route). Its outer header is IPv6, 20 bytes more.
- **bgp** (Calico's node-to-node mesh, `confd/etc/calico/confd/templates/bird.cfg.template`):
  netlab installs no route at all. BIRD in each node exports a blackhole route for the node's
  block over iBGP to every other node and writes the routes it learns into the kernel
  (`proto bird`, next hop the other node's underlay address). IPv6 (Calico's `bird6.cfg.template`
  and `bird6_ipam.cfg.template`) rides its own sessions between the nodes' IPv6 underlay
  addresses, with `ipv6` channels, the node's /64 as a static blackhole and a kernel protocol
  of its own; one BIRD 2 daemon speaks both families.

`plan` says what a node should hold; `lab/vxlan.py` and `lab/bird.py` make it so.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address

from netlab import naming
from netlab.api.addressing import IPAddress, IPNetwork, NodeNet, Topology, vxlan_mtu

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

    dst: IPNetwork
    gateway: IPAddress
    dev: str
    onlink: bool = False

    @property
    def text(self) -> str:
        return f"{self.dst} via {self.gateway} dev {self.dev}" + (" onlink" if self.onlink else "")


@dataclass(frozen=True)
class Vtep:
    """A node's own VXLAN device, as flanneld creates it (one per family)."""

    name: str
    vni: int
    port: int
    local: IPAddress  # the node's underlay address of the family: the outer source
    underlay_dev: str
    mac: str
    address: IPAddress  # the network address of the node's subnet (x.x.N.0/32, fd00:…:N::/128)
    mtu: int

    @property
    def family(self) -> int:
        return self.address.version


@dataclass(frozen=True)
class VxlanPeer:
    """Another node's VTEP, as this node's neighbour and FDB entries know it."""

    node: str
    subnet: IPNetwork
    vtep_ip: IPAddress  # x.x.M.0 (fd00:…:M::)
    mac: str
    underlay_ip: IPAddress  # the outer destination
    dev: str = naming.VXLAN_DEVICE  # the local VTEP that holds the entries


@dataclass(frozen=True)
class NodeRouting:
    node: str
    mode: str
    routes: tuple[PodRoute, ...]
    vteps: tuple[Vtep, ...] = ()  # primary family first
    peers: tuple[VxlanPeer, ...] = ()
    bird_config: str | None = None

    @property
    def vtep(self) -> Vtep | None:
        """The primary family's VTEP."""
        return self.vteps[0] if self.vteps else None

    def commands(self) -> list[str]:
        """The plan as the `ip` commands a person would type in the node (docs, goldens)."""
        out = []
        for v in self.vteps:
            out.append(
                f"ip link add {v.name} type vxlan id {v.vni} local {v.local} dev {v.underlay_dev} "
                f"dstport {v.port} nolearning"
            )
            out.append(f"ip link set {v.name} address {v.mac} mtu {v.mtu} up")
            out.append(f"ip addr add {v.address}/{v.address.max_prefixlen} dev {v.name}")
        for p in self.peers:
            out.append(f"ip neigh replace {p.vtep_ip} lladdr {p.mac} dev {p.dev} nud permanent")
            out.append(f"bridge fdb replace {p.mac} dev {p.dev} dst {p.underlay_ip} self permanent")
        out += [f"ip route replace {r.text}" for r in self.routes]
        if self.bird_config is not None:
            out.append(f"bird -c {self.node}.conf   # no route from netlab: BIRD learns them over iBGP (proto bird)")
        return out


def vtep_address(node: NodeNet, family: int | None = None) -> IPAddress:
    """flannel gives its VTEP the network address of the node's subnet (x.x.N.0/32; in IPv6
    fd00:…:N::/128 on flannel-v6.1)."""
    subnet = node.subnet if family is None else node.subnet_for(family)
    return subnet.network_address


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
        vteps = tuple(
            Vtep(
                naming.vxlan_device(f), VXLAN_VNI, VXLAN_PORT, node.underlay_ip_for(f), naming.NODE_UPLINK,
                naming.vtep_mac(topo.cluster, node.name, f), vtep_address(node, f), vxlan_mtu(f),
            )
            for f in topo.families
        )  # fmt: skip
        peers = tuple(
            VxlanPeer(
                o.name, o.subnet_for(f), vtep_address(o, f), naming.vtep_mac(topo.cluster, o.name, f),
                o.underlay_ip_for(f), naming.vxlan_device(f),
            )
            for f in topo.families
            for o in live
        )  # fmt: skip
        routes = tuple(PodRoute(p.subnet, p.vtep_ip, p.dev, onlink=True) for p in peers)
        return NodeRouting(node.name, "vxlan", routes, vteps, peers)
    if topo.routing == "bgp":
        return NodeRouting(node.name, "bgp", (), bird_config=bird_config(topo, node))
    raise ValueError(f"unknown routing mode {topo.routing!r}")


def bgp_protocol(node: str, family: int = 4) -> str:
    """BIRD's name for the session to `node` (letters, digits and _ only), like Calico's
    Mesh_172_31_255_12 but named after the node; the IPv6 session is mesh6_<node>."""
    return ("mesh6_" if family == 6 else "mesh_") + "".join(c if c.isalnum() else "_" for c in node)


def router_id(node: NodeNet) -> IPv4Address:
    """BIRD's router id is a 32-bit number written as IPv4: the node's IPv4 underlay address, or
    in an IPv6-only lab the low 32 bits of its IPv6 one (unique: the nodes are ::11, ::12, …;
    Calico derives one from a hash for IPv6-only nodes)."""
    ip4 = node.underlay_ip_for(4)
    return ip4 if ip4 is not None else IPv4Address(int(node.underlay_ip) & 0xFFFFFFFF)


# Per family: BIRD's channel, the static protocol holding the node's block, the kernel
# protocol's name (None: BIRD's default, kernel1) and the mesh template.
_BIRD_NAMES = {4: ("ipv4", "blocks", None, "mesh"), 6: ("ipv6", "blocks6", "kernel6", "mesh6")}


def bird_config(topo: Topology, node: NodeNet) -> str:
    """bird.conf for one node: Calico's node-to-node mesh, reduced to what the lab shows."""
    lines = [
        f"# BIRD 2 for node {node.name} of lab {topo.cluster}, written by netlab (routing: bgp).",
        "# Calico's node-to-node mesh: iBGP to every other node over the underlay.",
        f"router id {router_id(node)};",
        "log stderr all;  # netlab keeps it in the node's log: state/<cluster>/bird/<node>.log",
        "",
        "# Learn the node's interfaces (BGP needs to know the underlay is directly connected).",
        "protocol device {",
        "  scan time 2;",
        "}",
    ]
    for family in topo.families:
        lines += _bird_family(topo, node, family)
    for family in topo.families:
        template = _BIRD_NAMES[family][3]
        for other in topo.nodes:
            if other.name == node.name:
                continue
            lines += [
                "",
                f"protocol bgp {bgp_protocol(other.name, family)} from {template} {{",
                f"  neighbor {other.underlay_ip_for(family)} as {BGP_AS};",
                "}",
            ]
    return "\n".join(lines) + "\n"


def _bird_family(topo: Topology, node: NodeNet, family: int) -> list[str]:
    channel, static, kernel, template = _BIRD_NAMES[family]
    block = "/24" if family == 4 else "/64"
    return [
        "",
        f"# The node's block, as Calico announces it: a blackhole for the whole {block} in BIRD's",
        "# table (the kernel keeps its own connected route on cni0, which is more useful here).",
        f"protocol static {static} {{",
        f"  {channel};",
        f"  route {node.subnet_for(family)} blackhole;",
        "}",
        "",
        "# Write what the other nodes announce into the kernel's main table (proto bird).",
        "protocol kernel {" if kernel is None else f"protocol kernel {kernel} {{",
        f"  {channel} {{",
        "    import none;",
        "    export where source = RTS_BGP;",
        "  };",
        "  merge paths on;",
        "}",
        "",
        f"template bgp {template} {{",
        f"  local {node.underlay_ip_for(family)} as {BGP_AS};",
        "  direct;",
        "  connect delay time 0;",
        f"  hold time {BGP_HOLD};",
        f"  keepalive time {BGP_KEEPALIVE};",
        f"  connect retry time {BGP_CONNECT_RETRY};",
        f"  error wait time {BGP_ERROR_WAIT[0]}, {BGP_ERROR_WAIT[1]};",
        f"  {channel} {{",
        "    import all;",
        f'    export where proto = "{static}";',
        "    next hop self;",
        "  };",
        "}",
    ]
