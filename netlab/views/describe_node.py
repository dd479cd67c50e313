"""`netlab describe node NAME`: a node's ranges, routes, bridge ports, pods and rules.

`gather` reads the live node namespace (routes and cni0's ports through the Netlink adapter,
`iptables-save`); `lines` formats those facts (pure). Bridge ports are named by the pod each
belongs to, from the veth name the pod's sandbox recorded.
"""

from __future__ import annotations

from dataclasses import dataclass

from netlab import naming
from netlab.apiserver.state import Lab
from netlab.errors import NetlabError, NotFound
from netlab.kernel import iptables, ns
from netlab.kernel.netlink import Netlink, Route
from netlab.trace.rules import Ruleset, parse

ALIASES = ("node", "nodes", "no")
# Chain families worth counting separately: kube-proxy's per-Service and per-endpoint chains.
CHAIN_FAMILIES = ("KUBE-SVC-", "KUBE-SEP-", "KUBE-EXT-", "KUBE-FW-", "KUBE-SVL-")


@dataclass(frozen=True)
class Port:
    veth: str
    pod: str | None  # "ns/name"
    ip: str | None


@dataclass(frozen=True)
class NodeFacts:
    name: str
    netns: str
    up: bool
    pod_cidr: str
    gateway: str
    underlay_ip: str
    labels: dict[str, str]
    routes: tuple[Route, ...]
    ports: tuple[Port, ...]
    pods: tuple[tuple[str, str, str], ...]  # (namespace, name, ip) the store places here
    rules: Ruleset | None
    problem: str = ""  # why the kernel could not be read (a failed node)
    routing: str = "host-gw"
    crossing: tuple[str, ...] = ()  # the mode's own state: VTEP and entries, or BIRD's view
    kube_proxy_mode: str = "iptables"
    nft_table: str | None = None  # nftables mode: `nft list table ip kube-proxy`
    # IPv6 (a dual-stack or IPv6-only lab): `ip6tables-save`, `nft list table ip6 kube-proxy`
    rules6: Ruleset | None = None
    nft_table6: str | None = None


def gather(lab: Lab, name: str) -> NodeFacts:
    try:
        node = lab.topo.node(name)
    except KeyError:
        raise NotFound(f'nodes "{name}" not found') from None
    netns = naming.node_netns(lab.name, name)
    path = ns.netns_path(netns)
    pods = [o for o in lab.store.list("Pod") if o.status.get("nodeName") == name]
    by_veth = {(o.status.get("sandbox") or {}).get("veth"): o for o in pods}
    routes, ports, rules, problem, crossing, nft_table = (), (), None, "", (), None
    rules6, nft_table6 = None, None
    up = ns.is_pinned(path)
    if up:
        try:
            with Netlink(path) as nl:
                # Both families; IPv6's link-local fe80::/64 per link says nothing about the lab.
                routes = tuple(r for r in nl.routes(family=None) if not r.dst.startswith("fe80:"))
                crossing = _crossing(lab, name, nl)
                ports = tuple(
                    Port(v, f"{by_veth[v].namespace}/{by_veth[v].name}" if v in by_veth else None,
                         _pod_ips(by_veth[v].status) if v in by_veth else None)
                    for v in sorted(nl.bridge_ports(naming.NODE_BRIDGE))
                )  # fmt: skip
            rules = parse(iptables.save(path))
            if 6 in lab.topo.families:
                rules6 = parse(iptables.save(path, 6))
            if lab.topo.kube_proxy_mode == "nftables":
                from netlab.kernel import nft

                nft_table = nft.list_table(path, "ip", "kube-proxy")
                if 6 in lab.topo.families:
                    nft_table6 = nft.list_table(path, "ip6", "kube-proxy")
        except (NetlabError, OSError, ValueError) as exc:
            problem = getattr(exc, "message", str(exc))
    else:
        problem = f"namespace {netns} does not exist (node failed?)"
    return NodeFacts(
        name=name,
        netns=netns,
        up=up,
        pod_cidr=", ".join(map(str, node.subnets)),
        gateway=", ".join(f"{g}/{s.prefixlen}" for g, s in zip(node.gateways, node.subnets, strict=True)),
        underlay_ip=", ".join(map(str, node.underlay_ips)),
        labels=dict(node.labels),
        routes=routes,
        ports=ports,
        pods=tuple((o.namespace, o.name, _pod_ips(o.status) or "<none>") for o in pods),
        rules=rules,
        problem=problem,
        routing=lab.topo.routing,
        crossing=crossing,
        kube_proxy_mode=lab.topo.kube_proxy_mode,
        nft_table=nft_table,
        rules6=rules6,
        nft_table6=nft_table6,
    )


def _pod_ips(status: dict) -> str:
    """The pod's addresses, primary first ("10.244.1.3, fd00:10:244:1::3")."""
    ips = list(status.get("podIPs") or [])
    return ", ".join(ips or ([status["podIP"]] if status.get("podIP") else []))


def _crossing(lab: Lab, node: str, nl: Netlink) -> tuple[str, ...]:
    """flannel.1 (and flannel-v6.1) with its entries (vxlan), or BIRD's own answer to `show
    protocols` and `show route` (bgp); nothing more to show for host-gw (the routes say it all)."""
    if lab.topo.routing == "vxlan":
        return tuple(line for family in lab.topo.families for line in _vtep(nl, family))
    if lab.topo.routing == "bgp":
        from netlab.lab import bird

        ref = bird.running(lab.name, node)
        head = f"BIRD pid {ref.pid}, socket {bird.paths(lab.name, node)['ctl']}" if ref else "BIRD is not running"
        out = [head]
        if ref:
            for command in (("show", "protocols"), ("show", "route")):
                out.append(f"$ birdc {' '.join(command)}")
                try:
                    out += [line for line in bird.birdc(lab.name, node, *command).splitlines() if line and "ready." not in line]
                except NetlabError as exc:
                    out.append(f"  unavailable: {exc.message}")
        return tuple(out)
    return ()


def _vtep(nl: Netlink, family: int) -> list[str]:
    name = naming.vxlan_device(family)
    vtep = nl.vxlan(name)
    if vtep is None:
        return [f"{name}: missing"]
    address = ", ".join(str(a) for a in nl.addresses(name, family=family)) or "no address"
    out = [
        f"{vtep.name} {address}  VNI {vtep.vni}, udp/{vtep.port}, local {vtep.local} dev {vtep.link}, "
        f"{'learning' if vtep.learning else 'nolearning'}, mac {vtep.mac}, mtu {vtep.mtu}",
    ]
    neighbours = [n for n in nl.neighbours(name, family=family) if n.permanent]
    out += [f"neighbour {n.dst} lladdr {n.lladdr} PERMANENT" for n in neighbours]
    out += [f"fdb {f.lladdr} dst {f.dst}{' permanent' if f.permanent else ''}" for f in nl.fdb(name)]
    return out


def _field(label: str, value: object) -> str:
    return f"{label + ':':<18}{value}"


def lines(f: NodeFacts) -> list[str]:
    out = [
        _field("Name", f.name),
        _field("Labels", ",".join(f"{k}={v}" for k, v in f.labels.items()) or "<none>"),
        _field("Netns", f"{f.netns}   (ip netns exec {f.netns} …)"),
        _field("PodCIDR", f"{f.pod_cidr}   ({naming.NODE_BRIDGE} {f.gateway}, the pods' gateway)"),
        _field("InternalIP", f"{f.underlay_ip}   ({naming.NODE_UPLINK} ⇄ {naming.fabric_port(f.name)} on the fabric switch {naming.FABRIC_BRIDGE})"),
    ]
    if f.problem:
        out.append(_field("Kernel", f"unavailable: {f.problem}"))
    out.append("Routes:" + ("" if f.routes else "  <none>"))
    for r in f.routes:
        via = f" via {r.gateway}" if r.gateway else ""
        dev = f" dev {r.dev}" if r.dev else ""
        proto = "  proto bird" if r.proto == naming.RTPROT_BIRD else ""
        out.append(f"  {r.dst}{via}{dev}" + (f"  ({r.type})" if r.type != "unicast" else "") + proto)
    if f.crossing:
        title = {"vxlan": "VXLAN (flannel's VTEPs)", "bgp": "BGP (BIRD's own view)"}.get(f.routing, f.routing)
        out.append(f"Routing:          {f.routing}: {title}")
        out += [f"  {line}" for line in f.crossing]
    out.append(f"Bridge {naming.NODE_BRIDGE} ports:" + ("" if f.ports else "  <none>"))
    for p in f.ports:
        owner = f"{naming.POD_IFACE} of pod {p.pod} ({p.ip})" if p.pod else "no pod of this lab"
        out.append(f"  {p.veth:<16} ⇄ {owner}")
    out.append("Pods:" + ("" if f.pods else "  <none>"))
    for namespace, name, ip in f.pods:
        out.append(f"  {namespace + '/' + name:<40} {ip}")
    out.append(_field("kube-proxy", f"{f.kube_proxy_mode} mode"))
    if f.kube_proxy_mode == "nftables":
        out.append("nftables:" + ("" if f.nft_table or f.nft_table6 else "  <unavailable>"))
        if f.nft_table:
            out.append(f"  table ip kube-proxy  {nft_counts(f.nft_table)}")
        if f.nft_table6:
            out.append(f"  table ip6 kube-proxy  {nft_counts(f.nft_table6)}")
    out += _iptables_lines("iptables", f.rules)
    if f.rules6 is not None:
        out += _iptables_lines("ip6tables", f.rules6)
    return out


def _iptables_lines(tool: str, ruleset: Ruleset | None) -> list[str]:
    out = [f"{tool}:" + ("" if ruleset else "  <unavailable>")]
    if ruleset is not None:
        for table, (chains, rules) in sorted(ruleset.chain_counts().items()):
            families = []
            for prefix in CHAIN_FAMILIES:
                n = sum(1 for c in ruleset.tables[table] if c.startswith(prefix))
                if n:
                    families.append(f"{prefix}*: {n}")
            extra = f"  ({', '.join(families)})" if families else ""
            out.append(f"  {table:<8} {chains} chains, {rules} rules{extra}")
    return out


NFT_CHAIN_FAMILIES = ("service-", "endpoint-", "external-", "local-", "firewall-")


def nft_counts(listed: str) -> str:
    """`N chains (service-*: a, …), M rules, K sets/maps` of an `nft list table` text (pure)."""
    chains = rules = containers = 0
    families = dict.fromkeys(NFT_CHAIN_FAMILIES, 0)
    depth, kind = 0, ""
    for raw in listed.splitlines():
        line = raw.strip()
        if line.endswith("{") and depth == 1:
            kind = line.split()[0]
            if kind == "chain":
                chains += 1
                name = line.split()[1]
                for prefix in families:
                    if name.startswith(prefix) and "/" in name:
                        families[prefix] += 1
            else:
                containers += 1
        elif depth == 2 and kind == "chain" and line and not line.startswith(("type ", "comment ", "policy ")):
            rules += 1
        depth += line.count("{") - line.count("}")
    detail = ", ".join(f"{p}*: {c}" for p, c in families.items() if c)
    return f"{chains} chains" + (f" ({detail})" if detail else "") + f", {rules} rules, {containers} sets/maps"
