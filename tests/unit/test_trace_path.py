"""The path of a packet, assembled from kernel facts: here captured ones, no root needed."""

from dataclasses import dataclass, field
from pathlib import Path

from netlab.dns.records import EndpointRecord, PortRecord, Records, ServiceRecord
from netlab.trace import path, resolve, sockets
from netlab.trace.model import DELIVERED, DROPPED, REFUSED, REJECTED, Crossing, LinkEnd, Listener, PodPlace, RouteHit, Source
from netlab.trace.rules import parse
from netlab.trace.walk import Packet

RULES = parse((Path(__file__).parent / "data" / "trace" / "node-a.iptables-save").read_text())
# The same Services seen from node-b (kube-proxy writes the same rules on every node).
UNDERLAY = {"node-a": "172.30.48.11", "node-b": "172.30.48.12"}
GATEWAY = {"node-a": "10.160.1.1", "node-b": "10.160.2.1"}
CLIENT = PodPlace("default", "client", "10.160.1.3", "node-a", "lab.default.client", "vethclient")
WEB_A = PodPlace("default", "web-a", "10.160.1.4", "node-a", "lab.default.web-a", "vethweba")
WEB_B = PodPlace("default", "web-b", "10.160.2.3", "node-b", "lab.default.web-b", "vethwebb")
WEB_IP, EMPTY_IP = "10.224.243.146", "10.224.57.215"


@dataclass
class FakeWorld:
    """The lab's kernel as plain data: host-gw routes, one web server per pod on 8080."""

    pods: tuple[PodPlace, ...] = (CLIENT, WEB_A, WEB_B)
    listening: dict = field(default_factory=lambda: {"lab.default.web-a": 8080, "lab.default.web-b": 8080})

    def pod_by_ip(self, ip):
        return next((p for p in self.pods if p.ip == ip), None)

    def node_by_underlay(self, ip):
        return next((n for n, u in UNDERLAY.items() if u == ip), None)

    def node_netns(self, node):
        return f"lab.{node}"

    def route(self, netns, dst):
        if netns is None:
            if dst.startswith("172.30.48."):
                return RouteHit(dst, "unicast", None, "lab0", "172.30.48.1")
            return RouteHit(dst, "unreachable", error="No route to host")
        pod = next((p for p in self.pods if p.netns == netns), None)
        if pod is not None:
            if dst.startswith(pod.ip.rsplit(".", 1)[0] + "."):
                return RouteHit(dst, "unicast", None, "eth0", pod.ip)
            return RouteHit(dst, "unicast", GATEWAY[pod.node], "eth0", pod.ip)
        node = netns.split(".", 1)[1]
        if dst == UNDERLAY[node]:
            return RouteHit(dst, "local", None, "lo", dst)
        if dst.startswith(GATEWAY[node].rsplit(".", 1)[0] + ".") or dst.startswith("10.224."):
            return RouteHit(dst, "unicast", None, "cni0", GATEWAY[node])
        for other, gw in GATEWAY.items():
            if dst.startswith(gw.rsplit(".", 1)[0] + "."):
                return RouteHit(dst, "unicast", UNDERLAY[other], "eth0", UNDERLAY[node])
        return RouteHit(dst, "error", error="Network is unreachable")

    def ruleset(self, node, family=4):
        return RULES

    def local_addresses(self, node):
        return frozenset({UNDERLAY[node], GATEWAY[node]})

    def veth(self, pod):
        return (LinkEnd(pod.netns, "eth0", 2, 7, None), LinkEnd(f"lab.{pod.node}", pod.veth, 7, 2, "cni0"))

    def listeners(self, netns, protocol, port):
        if self.listening.get(netns) == port and protocol == "tcp":
            return (Listener("tcp", "0.0.0.0", port, 1234, 42, "web --port 8080"),)
        return ()


    def crossing(self, node, route):
        if route.dev == "eth0" and route.gateway:
            return Crossing("host-gw", self.node_by_underlay(route.gateway), route.gateway, origin="netlab")
        return None


@dataclass
class VxlanWorld(FakeWorld):
    """flannel's vxlan backend: other nodes' /24s via their VTEP (x.x.N.0) on flannel.1."""

    def route(self, netns, dst):
        hit = super().route(netns, dst)
        if hit.dev == "eth0" and hit.gateway in UNDERLAY.values() and netns and netns.count(".") == 1:
            return RouteHit(dst, "unicast", dst.rsplit(".", 1)[0] + ".0", "flannel.1", None)
        return hit

    def crossing(self, node, route):
        if route.dev != "flannel.1":
            return None
        other = next(n for n, gw in GATEWAY.items() if gw.rsplit(".", 1)[0] == route.gateway.rsplit(".", 1)[0])
        return Crossing("vxlan", other, UNDERLAY[other], UNDERLAY[node], 1, 8472, "02:00:00:00:00:0b", "flanneld")


class BgpWorld(FakeWorld):
    def crossing(self, node, route):
        found = super().crossing(node, route)
        return Crossing("bgp", found.node, found.address, origin="BIRD") if found else None


def pod_source(pod: PodPlace) -> Source:
    return Source("pod", f"pod {pod.ref}", pod.ip, pod.netns, pod.node, pod)


def run(src: Source, dst: str, port: int, world=None, prefer=frozenset()):
    return path.trace(world or FakeWorld(), src, Packet(src.ip, dst, "tcp", port), dst, prefer=prefer)


def kinds(trace):
    return [s.kind for s in trace.steps]


def test_pod_to_pod_on_the_same_node_is_bridged_not_routed():
    t = run(pod_source(CLIENT), WEB_A.ip, 8080)
    assert t.verdict == DELIVERED and t.reached == "pod default/web-a"
    assert kinds(t) == ["route", "veth", "netfilter", "bridge", "netfilter", "netfilter", "bridge", "veth", "socket"]
    assert t.steps[1].data["pod_end"] == "eth0" and t.steps[1].data["node_end"] == "vethclient"
    assert "bridged by MAC" in t.steps[3].decision
    assert t.steps[-1].data["pid"] == 42


def test_pod_to_pod_across_nodes_takes_the_host_gw_route_and_the_underlay():
    t = run(pod_source(CLIENT), WEB_B.ip, 8080)
    assert t.verdict == DELIVERED and t.reached == "pod default/web-b"
    node_route = next(s for s in t.steps if s.kind == "route" and s.where == "node node-a")
    assert node_route.data["gateway"] == "172.30.48.12" and "host-gw" in node_route.decision
    under = next(s for s in t.steps if s.kind == "underlay")
    assert under.data == {"node": "node-b", "address": "172.30.48.12"}
    assert [s.where for s in t.steps if s.kind == "netfilter"][-1] == "node node-b"


def test_across_nodes_in_vxlan_mode_the_packet_is_encapsulated_to_the_other_vtep():
    t = run(pod_source(CLIENT), WEB_B.ip, 8080, VxlanWorld())
    assert t.verdict == DELIVERED and t.reached == "pod default/web-b"
    node_route = next(s for s in t.steps if s.kind == "route" and s.where == "node node-a")
    assert node_route.data["crossing"] == "vxlan" and node_route.data["dev"] == "flannel.1"
    wrap, unwrap = [s for s in t.steps if s.kind == "vxlan"]
    assert wrap.data["outer_src"] == "172.30.48.11" and wrap.data["outer_dst"] == "172.30.48.12"
    assert wrap.data["vni"] == 1 and wrap.data["port"] == 8472
    assert "outer 172.30.48.11 → 172.30.48.12 udp/8472 VNI 1" in wrap.decision
    assert unwrap.where == "node node-b" and "decapsulated" in unwrap.decision
    assert kinds(t).index("vxlan") < kinds(t).index("underlay")


def test_across_nodes_in_bgp_mode_the_route_is_birds_with_the_next_hop():
    t = run(pod_source(CLIENT), WEB_B.ip, 8080, BgpWorld())
    assert t.verdict == DELIVERED
    node_route = next(s for s in t.steps if s.kind == "route" and s.where == "node node-a")
    assert node_route.data["crossing"] == "bgp" and node_route.data["origin"] == "BIRD"
    assert "learned over iBGP from node node-b: next hop 172.30.48.12" in node_route.decision
    assert "vxlan" not in kinds(t)


def test_pod_to_service_is_dnatted_and_follows_the_chosen_endpoint():
    t = run(pod_source(CLIENT), WEB_IP, 80)
    assert t.endpoint == "10.160.1.4:8080" and t.reached == "pod default/web-a"
    dnat = t.steps[2]
    assert dnat.data["chains"] == ["PREROUTING", "KUBE-SERVICES", "KUBE-SVC-LOLE4ISW44XBNF3G", "KUBE-SEP-GHAELU5BITKASE25"]
    assert [o["destination"] for o in dnat.data["choices"][0]["options"]] == ["10.160.1.4:8080", "10.160.2.3:8080"]
    t2 = run(pod_source(CLIENT), WEB_IP, 80, prefer=frozenset({"10.160.2.3:8080"}))
    assert t2.endpoint == "10.160.2.3:8080" and t2.reached == "pod default/web-b"


def test_hairpin_goes_back_out_of_the_same_port_masqueraded():
    t = run(pod_source(WEB_A), WEB_IP, 80, prefer=frozenset({"10.160.1.4:8080"}))
    post = [s for s in t.steps if s.kind == "netfilter" and s.data["hook"] == "POSTROUTING"][0]
    assert post.data["verdict"] == "MASQUERADE"
    bridge = [s for s in t.steps if s.kind == "bridge"][-1]
    assert bridge.data["hairpin"] is True
    assert t.steps[-2].data["src"] == "10.160.1.1"  # the node's cni0 address, after MASQUERADE


def test_a_service_without_endpoints_is_rejected_at_kube_services():
    t = run(pod_source(CLIENT), EMPTY_IP, 80)
    assert t.verdict == REJECTED and "KUBE-SERVICES" in t.reason and "no endpoints" in t.reason
    assert t.steps[-1].kind == "netfilter" and t.steps[-1].data["hook"] == "FORWARD"


def test_nothing_listening_is_refused_at_the_pod():
    t = run(pod_source(CLIENT), WEB_B.ip, 9090)
    assert t.verdict == REFUSED and t.steps[-1].kind == "socket" and "connection refused" in t.steps[-1].decision


def test_the_host_cannot_reach_pod_ips():
    t = run(Source("host", "host", "172.30.48.1", None), WEB_A.ip, 8080)
    assert t.verdict == DROPPED and kinds(t) == ["route"]


def test_the_host_reaches_a_node_over_the_underlay():
    t = run(Source("host", "host", "172.30.48.1", None), "172.30.48.12", 9999)
    assert kinds(t)[:2] == ["route", "underlay"] and t.verdict == REFUSED and t.reached == "node node-b"


def test_sockets_parse_proc_net_tcp():
    text = (
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
        "   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 81234 1 0\n"
        "   1: 0401A00A:1F90 0301A00A:C350 01 00000000:00000000 00:00000000 00000000     0        0 0 1 0\n"
    )
    rows = sockets.parse_proc_net(text)
    assert [(r.address, r.port, r.state) for r in rows] == [("0.0.0.0", 8080, "0A"), ("10.160.1.4", 8080, "01")]
    assert [r.inode for r in sockets.listening(rows, "tcp", 8080, "10.160.1.4")] == [81234]


RECORDS = Records(
    domain="cluster.local",
    services=(
        ServiceRecord("default", "web", "ClusterIP", WEB_IP, None, (PortRecord("", 80, "TCP"),), (EndpointRecord("10.160.1.4", True),)),
        ServiceRecord("kube-system", "kube-dns", "ClusterIP", "10.224.0.10", None, (PortRecord("dns", 53, "UDP"),), ()),
    ),
    pods=(),
    namespaces=("default", "kube-system", "other"),
)
CONF = resolve.ResolvConf.parse("search other.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.224.0.10\noptions ndots:5\n")


def test_names_resolve_over_the_pods_search_list_like_its_resolver():
    step, address = resolve.dns_step("web.default", CONF, RECORDS, "pod other/client", "Service kube-system/kube-dns")
    assert address == WEB_IP
    assert step.data["server"] == "10.224.0.10" and step.data["name"] == "web.default.svc.cluster.local."
    assert step.data["record"] == f"web.default.svc.cluster.local. 5 IN A {WEB_IP}"
    assert step.details[0] == "web.default.other.svc.cluster.local. → NXDOMAIN"
    assert resolve.service_port(RECORDS, WEB_IP, "tcp") == 80
    assert resolve.split_port("web:8080") == ("web", 8080)


def test_sockets_parse_proc_net_tcp6_where_a_wildcard_takes_ipv4_too():
    text = (
        "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
        "   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 1 0\n"
        "   1: 0000000000000000FFFF00000100007F:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 999 1 0\n"
    )
    rows = sockets.parse_proc_net(text)
    assert [(r.address, r.port) for r in rows] == [("::", 8080), ("::ffff:127.0.0.1", 80)]
    assert [r.inode for r in sockets.listening(rows, "tcp", 8080, "10.244.1.3")] == [12345]
