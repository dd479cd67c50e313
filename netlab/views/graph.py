"""The lab's topology as a picture: Graphviz DOT, Mermaid, or a terminal tree (pure).

Laid out the way a packet travels: the host's veth into the fabric switch, each node's uplink
and `cni0` bridge, a veth per pod into its `eth0`, and Services pointing (dashed) at the
endpoints kube-proxy DNATs to, and (blue) the Ingress and HTTPRoute rules nginx follows from its
controller's Service to the backend Services. `gather` collects the facts from a lab; the renderers are pure.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass

from rich.tree import Tree

from netlab import naming
from netlab.errors import EnvironmentProblem, InvalidInput, KernelError


@dataclass(frozen=True)
class PodFact:
    namespace: str
    name: str
    ip: str
    node: str
    veth: str
    labels: tuple[tuple[str, str], ...] = ()

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class NodeFact:
    name: str
    netns: str
    pod_cidr: str
    gateway: str  # cni0's address with prefix, "10.244.1.1/24"
    underlay_ip: str
    up: bool = True


@dataclass(frozen=True)
class ServiceFact:
    namespace: str
    name: str
    cluster_ip: str | None
    ports: tuple[str, ...]  # "80/TCP"
    endpoints: tuple[tuple[str, str], ...]  # (pod ref, "ip:port")

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class RouteFact:
    """One Ingress or HTTPRoute rule: the controller's Service routes `what` to a backend Service."""

    controller: str  # "ingress-nginx/ingress-nginx-controller"
    what: str  # "Ingress default/shop: shop.example/cart"
    backend: str  # "default/cart"


@dataclass(frozen=True)
class LabFacts:
    cluster: str
    host_link: str
    host_ip: str  # with prefix
    nodes: tuple[NodeFact, ...]
    pods: tuple[PodFact, ...]
    services: tuple[ServiceFact, ...]
    routes: tuple[RouteFact, ...] = ()
    routing: str = "host-gw"  # how pods cross nodes: host-gw | vxlan | bgp

    def pods_on(self, node: str) -> list[PodFact]:
        return [p for p in self.pods if p.node == node]


FORMATS = (".svg", ".png", ".dot", ".gv", ".mmd")  # what `graph -o FILE` can write

def gather(lab) -> LabFacts:
    """Facts from the store and the topology (which pods have which IP, veth and node)."""
    from netlab.controllers.endpoints import service_endpoints
    from netlab.kernel import ns

    pods = []
    for o in lab.store.list("Pod"):
        box = o.status.get("sandbox") or {}
        if o.status.get("podIP") and box.get("uid") == o.uid:
            labels = tuple(sorted(((o.manifest.get("metadata") or {}).get("labels") or {}).items()))
            ips = ", ".join(o.status.get("podIPs") or [o.status["podIP"]])  # both families, primary first
            pods.append(PodFact(o.namespace, o.name, ips, o.status["nodeName"], box["veth"], labels))
    nodes = tuple(
        NodeFact(
            n.name, naming.node_netns(lab.name, n.name), ", ".join(map(str, n.subnets)),
            ", ".join(f"{g}/{s.prefixlen}" for g, s in zip(n.gateways, n.subnets, strict=True)),
            ", ".join(map(str, n.underlay_ips)), ns.is_pinned(ns.netns_path(naming.node_netns(lab.name, n.name))),
        )
        for n in lab.topo.nodes
    )  # fmt: skip
    services = []
    for se in service_endpoints(lab):
        endpoints = tuple(dict.fromkeys((b.pod, f"{b.ip}:{b.port}") for pe in se.ports for b in pe.backends if b.ready))
        ports = tuple(f"{p.port}/{p.protocol}" for p in se.service.spec.ports)
        services.append(ServiceFact(se.obj.namespace, se.obj.name, se.cluster_ip, ports, endpoints))
    return LabFacts(lab.name, naming.host_link(lab.name), str(lab.topo.host_interface), nodes, tuple(pods), tuple(services),
                     tuple(_routes(lab)), lab.topo.routing)


def _routes(lab) -> list[RouteFact]:
    """The Ingress and HTTPRoute rules, drawn from their controller's Service to the backends."""
    from netlab.api.gateway import HTTPRoute
    from netlab.api.ingress import Ingress

    facts = []
    for o in lab.store.list("Ingress"):
        ing = Ingress.model_validate(o.manifest)
        rules = [(r.host or "*", p.path or "/", p.backend) for r in ing.spec.rules if r.http for p in r.http.paths]
        if ing.spec.defaultBackend is not None:
            rules.append(("*", "(default)", ing.spec.defaultBackend))
        for host, path, backend in rules:
            if backend.service is not None:
                facts.append(RouteFact("ingress-nginx/ingress-nginx-controller", f"Ingress {o.namespace}/{o.name}: {host}{path}",
                                       f"{o.namespace}/{backend.service.name}"))
    for o in lab.store.list("HTTPRoute"):
        route = HTTPRoute.model_validate(o.manifest)
        hosts = ",".join(route.spec.hostnames) or "*"
        for rule in route.spec.rules:
            paths = ",".join(m.path.value for m in rule.matches)
            for b in rule.backendRefs:
                facts.append(RouteFact("nginx-gateway/nginx-gateway", f"HTTPRoute {o.namespace}/{o.name}: {hosts}{paths} weight {b.weight}",
                                       f"{b.namespace or o.namespace}/{b.name}"))
    return facts


def _id(*parts: str) -> str:
    return "n_" + re.sub(r"[^A-Za-z0-9_]", "_", "_".join(parts))


def _q(text: str) -> str:
    """A DOT string; BR inside stays a line break, quotes are escaped."""
    return '"' + text.replace('"', '\\"') + '"'


def _labels(pod: PodFact) -> str:
    return ",".join(f"{k}={v}" for k, v in pod.labels)


BR = "\\n"  # a line break inside a DOT label


def _vteps(node: NodeFact) -> str:
    """flannel's VTEPs with their addresses: the network address of each of the node's subnets
    (flannel.1 x.x.N.0/32; flannel-v6.1 fd00:…:N::/128 in a lab with IPv6)."""
    found = []
    for cidr in node.pod_cidr.split(", "):
        address = cidr.split("/")[0]
        six = ":" in address
        found.append(f"{naming.vxlan_device(6 if six else 4)} {address}/{128 if six else 32}")
    return ", ".join(found)


def _crossing_dot(f: LabFacts, node: NodeFact) -> list[str]:
    """The routing mode's part inside one node: how its pods reach the other nodes'."""
    n = node.name
    if f.routing == "vxlan":
        vtep = _vteps(node).replace(", ", BR) + BR + "VTEP · VNI 1 · udp/8472"
        return [
            f"    {_id(n, 'vtep')} [label={_q(vtep)}, shape=cds];",
            f"    {_id(n, 'eth0')} -> {_id(n, 'vtep')} [label=\"VXLAN in UDP\", style=dotted];",
            f"    {_id(n, 'vtep')} -> {_id(n, 'cni0')} [label=\"routes x.x.M.0/24 via x.x.M.0 onlink\", style=dotted];",
        ]
    if f.routing == "bgp":
        return [
            f"    {_id(n, 'bird')} [label={_q('BIRD · AS 64512' + BR + 'exports ' + node.pod_cidr)}, shape=hexagon];",
            f"    {_id(n, 'eth0')} -> {_id(n, 'cni0')} [label=\"routes (proto bird)\", style=dotted];",
            f"    {_id(n, 'bird')} -> {_id(n, 'eth0')} [label=\"iBGP tcp/179\", style=dotted];",
        ]
    return [f"    {_id(n, 'eth0')} -> {_id(n, 'cni0')} [label=\"routes (host-gw)\", style=dotted];"]


def _mesh_dot(f: LabFacts) -> list[str]:
    """Between nodes: the overlay's tunnels or the BGP sessions (one edge per pair)."""
    kind = {"vxlan": ("vtep", "VXLAN VNI 1"), "bgp": ("bird", "iBGP session")}.get(f.routing)
    if kind is None:
        return []
    live = [n for n in f.nodes if n.up]
    return [
        f"  {_id(a.name, kind[0])} -> {_id(b.name, kind[0])} [style=dashed, color=gray40, constraint=false, label={_q(kind[1])}];"
        for i, a in enumerate(live) for b in live[i + 1:]
    ]  # fmt: skip


def to_dot(f: LabFacts) -> str:
    host_label = _q("host (root netns)" + BR + f"{f.host_link} {f.host_ip}")
    lines = [
        f"digraph {_q(f.cluster)} {{",
        "  rankdir=TB; compound=true; newrank=true;",
        '  node [shape=box, style="rounded", fontname="monospace", fontsize=10];',
        '  edge [dir=none, fontname="monospace", fontsize=9];',
        f"  {_id('host')} [label={host_label}, shape=house];",
        f"  subgraph cluster_fabric {{ label={_q(f'fabric netns {naming.fabric_netns(f.cluster)}')}; style=dashed;",
        f"    {_id('br0')} [label={_q(f'{naming.FABRIC_BRIDGE} — the physical switch')}, shape=box3d]; }}",
        f"  {_id('host')} -> {_id('br0')} [label={_q(f'veth {f.host_link} ⇄ {naming.FABRIC_HOST_PORT}')}];",
    ]
    for node in f.nodes:
        n = node.name
        state = "" if node.up else " (DOWN)"
        title = f"node {n}{state} — netns {node.netns}" + BR + f"pods {node.pod_cidr} · underlay {node.underlay_ip}"
        # Graphviz draws a box only around subgraphs whose name starts with "cluster".
        lines.append(f"  subgraph cluster{_id(n)} {{")
        lines.append(f"    label={_q(title)};")
        lines.append(f"    {_id(n, 'eth0')} [label={_q(f'{naming.NODE_UPLINK} {node.underlay_ip}')}];")
        lines.append(f"    {_id(n, 'cni0')} [label={_q(f'{naming.NODE_BRIDGE} {node.gateway}')}, shape=box3d];")
        lines += _crossing_dot(f, node)
        for pod in f.pods_on(n):
            pod_id = _id("pod", pod.namespace, pod.name)
            text = f"pod {pod.ref}" + BR + f"eth0 {pod.ip}" + (BR + _labels(pod) if pod.labels else "")
            lines.append(f"    {pod_id} [label={_q(text)}, shape=component];")
            lines.append(f"    {_id(n, 'cni0')} -> {pod_id} [label={_q(f'{pod.veth} ⇄ eth0')}];")
        lines.append("  }")
        lines.append(f"  {_id('br0')} -> {_id(n, 'eth0')} [label={_q(f'{naming.fabric_port(n)} ⇄ {naming.NODE_UPLINK}')}];")
    lines += _mesh_dot(f)
    pods = {p.ref for p in f.pods}
    for svc in f.services:
        svc_id = _id("svc", svc.namespace, svc.name)
        text = f"Service {svc.ref}" + BR + f"{svc.cluster_ip or 'headless'} {' '.join(svc.ports)}"
        lines.append(f"  {svc_id} [label={_q(text)}, shape=ellipse, style=filled, fillcolor=lightyellow];")
        for pod, address in svc.endpoints:
            if pod in pods:
                ns_, name = pod.split("/", 1)
                lines.append(f"  {svc_id} -> {_id('pod', ns_, name)} [dir=forward, style=dashed, label={_q('DNAT ' + address)}];")
    services = {s.ref for s in f.services}
    for route in f.routes:
        if route.controller in services and route.backend in services:
            a, b = (_id("svc", *ref.split("/", 1)) for ref in (route.controller, route.backend))
            lines.append(f"  {a} -> {b} [dir=forward, color=blue, label={_q('nginx: ' + route.what)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _m(text: str) -> str:
    return '"' + text.replace('"', "#quot;") + '"'


def to_mermaid(f: LabFacts) -> str:
    lines = [
        "flowchart TB",
        f"  {_id('host')}[{_m(f'host<br/>{f.host_link} {f.host_ip}')}]",
        f"  subgraph fabric[{_m('fabric netns ' + naming.fabric_netns(f.cluster))}]",
        f"    {_id('br0')}[{_m(naming.FABRIC_BRIDGE + ' switch')}]",
        "  end",
        f"  {_id('host')} ---|{_m('veth ' + f.host_link)}| {_id('br0')}",
    ]
    for node in f.nodes:
        n = node.name
        lines.append(f"  subgraph {_id('cluster', n)}[{_m(f'node {n} · {node.pod_cidr} · {node.underlay_ip}')}]")
        lines.append(f"    {_id(n, 'cni0')}[{_m(f'cni0 {node.gateway}')}]")
        for pod in f.pods_on(n):
            pod_id = _id("pod", pod.namespace, pod.name)
            lines.append(f"    {pod_id}[{_m(f'{pod.ref}<br/>{pod.ip}' + (f'<br/>{_labels(pod)}' if pod.labels else ''))}]")
            lines.append(f"    {_id(n, 'cni0')} ---|{_m(pod.veth)}| {pod_id}")
        lines.append("  end")
        lines.append(f"  {_id('br0')} ---|{_m(f'eth0 {node.underlay_ip}')}| {_id(n, 'cni0')}")
    pods = {p.ref for p in f.pods}
    for svc in f.services:
        svc_id = _id("svc", svc.namespace, svc.name)
        text = f"svc {svc.ref}<br/>{svc.cluster_ip or 'headless'} " + " ".join(svc.ports)
        lines.append(f"  {svc_id}([{_m(text)}])")
        for pod, address in svc.endpoints:
            if pod in pods:
                ns_, name = pod.split("/", 1)
                lines.append(f"  {svc_id} -.->|{_m(address)}| {_id('pod', ns_, name)}")
    services = {s.ref for s in f.services}
    for route in f.routes:
        if route.controller in services and route.backend in services:
            a, b = (_id("svc", *ref.split("/", 1)) for ref in (route.controller, route.backend))
            lines.append(f"  {a} ==>|{_m('nginx: ' + route.what)}| {b}")
    return "\n".join(lines) + "\n"


def to_tree(f: LabFacts) -> Tree:
    root = Tree(f"[bold]{f.cluster}[/]  host {f.host_link} {f.host_ip}  routing {f.routing}")
    fabric = root.add(f"fabric switch {naming.FABRIC_BRIDGE} (netns {naming.fabric_netns(f.cluster)})")
    for node in f.nodes:
        state = "" if node.up else " [red](down)[/]"
        branch = fabric.add(f"[bold]node {node.name}[/]{state}  eth0 {node.underlay_ip}  pods {node.pod_cidr}")
        if f.routing == "vxlan":
            branch.add(f"{_vteps(node)}  VTEP, VNI 1, udp/8472 over eth0")
        elif f.routing == "bgp":
            branch.add(f"BIRD, AS 64512: iBGP to every other node, exports {node.pod_cidr}")
        bridge = branch.add(f"cni0 {node.gateway}")
        for pod in f.pods_on(node.name):
            labels = f"  [dim]{_labels(pod)}[/]" if pod.labels else ""
            bridge.add(f"{pod.veth} ⇄ eth0 {pod.ip}  pod {pod.ref}{labels}")
    if f.services:
        services = root.add("Services")
        for svc in f.services:
            endpoints = ", ".join(f"{address} ({pod})" for pod, address in svc.endpoints) or "no endpoints"
            services.add(f"{svc.ref}  {svc.cluster_ip or 'headless'} {' '.join(svc.ports)} → {endpoints}")
    if f.routes:
        routes = root.add("Ingress and HTTPRoute rules (served by nginx in the controller pods)")
        for route in f.routes:
            routes.add(f"{route.controller} → {route.backend}  {route.what}")
    return root


def write(facts: LabFacts, path: str) -> None:
    """Write the drawing to FILE: .dot/.gv or .mmd as text, .svg/.png rendered by Graphviz."""
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in FORMATS:
        raise InvalidInput(f"{path}: the file name must end in one of {', '.join(FORMATS)}")
    if suffix == ".mmd":
        text = to_mermaid(facts)
    else:
        text = to_dot(facts)
    if suffix in (".dot", ".gv", ".mmd"):
        with open(path, "w") as f:
            f.write(text)
        return
    dot = shutil.which("dot")
    if dot is None:
        raise EnvironmentProblem("dot (Graphviz) not found", detail="install it: apt-get install graphviz (scripts/setup.sh does), or write .dot/.mmd")
    result = subprocess.run([dot, f"-T{suffix[1:]}", "-o", path], input=text, text=True, capture_output=True)
    if result.returncode != 0:
        raise KernelError(f"dot could not render {path}", detail=result.stderr.strip())
