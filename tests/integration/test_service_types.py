"""Seed 001: reaching pods from outside — NodePort, LoadBalancer, ExternalName, external IPs,
traffic policies and session affinity. The host plays "the outside world": it reaches the lab
only through its own veth into the lab's underlay, so every probe here goes to this module's
lab and nowhere else."""

from __future__ import annotations

import re
import select
import signal
import subprocess
import sys
import time
from collections import Counter
from ipaddress import IPv4Address

import pytest
import yaml

from cases.udp_client import SCRIPT as UDP_CLIENT

pytestmark = [pytest.mark.root, pytest.mark.every_kube_proxy_mode]

AGNHOST = "registry.k8s.io/e2e-test-images/agnhost:2.47"


def _netexec(name: str, node: str, app: str = "web") -> str:
    return f"""
apiVersion: v1
kind: Pod
metadata: {{name: {name}, labels: {{app: {app}}}}}
spec:
  nodeName: {node}
  containers:
  - name: netexec
    image: {AGNHOST}
    args: ["netexec", "--http-port=8080", "--udp-port=8081"]
    ports: [{{name: http, containerPort: 8080}}, {{name: udp, containerPort: 8081, protocol: UDP}}]
"""


PODS = "---".join(
    [
        _netexec("web-a", "node-a"),
        _netexec("web-b", "node-b"),
        _netexec("solo", "node-a", app="solo"),
        """
apiVersion: v1
kind: Pod
metadata: {name: client-a}
spec:
  nodeName: node-a
  containers: [{name: c, image: busybox, command: ["sleep", "infinity"]}]
""",
        """
apiVersion: v1
kind: Pod
metadata: {name: client-b}
spec:
  nodeName: node-b
  containers: [{name: c, image: busybox, command: ["sleep", "infinity"]}]
""",
    ]
)


def service(name: str, selector: str = "web", **spec) -> str:
    body = {"selector": {"app": selector}, "ports": [{"port": 80, "targetPort": 8080}], **spec}
    return yaml.safe_dump({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": body})


@pytest.fixture(scope="module")
def svc(lab):
    lab.apply(PODS)
    lab.wait_running("web-a", "web-b", "solo", "client-a", "client-b")
    return lab


# -- helpers -------------------------------------------------------------------------------------


def sh(*argv: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(list(argv), capture_output=True, text=True, input=input, timeout=60)
    if check and result.returncode != 0:
        raise AssertionError(f"`{' '.join(argv)}` exited {result.returncode}: {result.stderr}")
    return result


def node_ip(lab, node: str) -> str:
    return str(lab.ranges.underlay.network_address + 11 + "ab".index(node[-1]))


def host_ip(lab) -> str:
    return str(lab.ranges.underlay.network_address + 1)


def _read_until(capture: subprocess.Popen, marker: str, deadline: float) -> str:
    """What the capture printed, up to and including the first line with `marker`."""
    lines = []
    while time.monotonic() < deadline:
        ready, _, _ = select.select([capture.stdout], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        line = capture.stdout.readline()
        if not line:
            break
        lines.append(line)
        if marker in line:
            return "".join(lines)
    raise AssertionError(f"tcpdump never printed {marker!r}; it printed:\n{''.join(lines)}")


def host_curl(url: str, timeout: float = 3) -> subprocess.CompletedProcess:
    """curl from the host namespace (only ever at this lab's underlay addresses)."""
    return sh("curl", "-sS", "-m", str(timeout), url, check=False)


def host_get(url: str) -> str:
    result = host_curl(url)
    assert result.returncode == 0, f"curl {url} from the host failed: {result.stderr}"
    return result.stdout.strip()


def pod_get(lab, pod: str, url: str) -> str:
    return lab.exec(pod, "curl", "-sS", "-m", "3", url).stdout.strip()


def service_doc(lab, name: str) -> dict:
    return lab.get_json("svc", name)


def node_port(lab, name: str, index: int = 0) -> int:
    return service_doc(lab, name)["spec"]["ports"][index]["nodePort"]


def lb_ip(lab, name: str) -> str:
    return service_doc(lab, name)["status"]["loadBalancer"]["ingress"][0]["ip"]


def svc_row(lab, name: str) -> list[str]:
    rows = [line.split() for line in lab.nl("get", "svc").stdout.splitlines()]
    return next(r for r in rows if r[0] == name)


def announced(lab) -> dict[str, set[str]]:
    """node -> the /32 addresses on its uplink (the announced ones)."""
    result = {}
    for node in ("node-a", "node-b"):
        addrs = lab.ip_json("addr", "show", "dev", "eth0", netns=lab.node_netns(node))[0]["addr_info"]
        result[node] = {a["local"] for a in addrs if a["family"] == "inet" and a["prefixlen"] == 32}
    return result


def rules(lab, node: str) -> str:
    """What kube-proxy wrote on a node, for before/after comparisons: iptables-save without
    comments and counters, or (nftables mode) the ip kube-proxy table with its elements sorted."""
    if nft(lab):
        listed = lab.proxy_rules(node)
        return re.sub(r"elements = \{([^}]*)\}", lambda m: "elements = " + ",".join(sorted(m.group(1).replace("\n", " ").split(","))), listed)
    saved = lab.in_netns(lab.node_netns(node), "iptables-save").stdout
    lines = [re.sub(r"\[\d+:\d+\]", "", line) for line in saved.splitlines() if not line.startswith("#")]
    return "\n".join(lines)


def nft(lab) -> bool:
    return lab.kube_proxy_mode == "nftables"


def hostnames(lab, pod: str, url: str, times: int) -> Counter:
    script = f'for i in $(seq {times}); do curl -s -m 3 "{url}"; echo; done'
    out = lab.exec(pod, "sh", "-c", script).stdout
    return Counter(line.strip() for line in out.splitlines() if line.strip())


# -- NodePort ------------------------------------------------------------------------------------


def test_nodeport_answers_the_host_through_every_node_and_pods_through_node_ips(svc):
    svc.apply(service("web-np", type="NodePort", ports=[{"port": 80, "targetPort": 8080, "nodePort": 30080}]))
    assert svc_row(svc, "web-np")[1:5] == ["NodePort", svc.cluster_ip("web-np"), "<none>", "80:30080/TCP"]
    assert node_port(svc, "web-np") == 30080
    for node in ("node-a", "node-b"):
        assert host_get(f"http://{node_ip(svc, node)}:30080/hostname") in {"web-a", "web-b"}
        assert pod_get(svc, "client-a", f"http://{node_ip(svc, node)}:30080/hostname") in {"web-a", "web-b"}
    nat = rules(svc, "node-a")
    if nft(svc):
        assert re.search(r"tcp \. 30080 : goto external-\w+-default/web-np/tcp/", nat)
        assert re.search(r"chain external-\w+-default/web-np/tcp/ \{\s+jump mark-for-masquerade", nat)
    else:
        assert re.search(r"-A KUBE-NODEPORTS -p tcp -m comment --comment \"?default/web-np\"? -m tcp --dport 30080 -j KUBE-EXT-", nat)
        assert '"masquerade traffic for default/web-np external destinations" -j KUBE-MARK-MASQ' in nat


def test_a_nodeport_out_of_range_or_taken_is_refused_and_nothing_is_applied(svc):
    bad = service("np-range", type="NodePort", ports=[{"port": 80, "nodePort": 40000}])
    taken = service("np-taken", type="NodePort", ports=[{"port": 80, "nodePort": 30080}])
    for text, message in ((bad, "is not in the valid range. The range of valid ports is 30000-32767"), (taken, "already allocated")):
        result = svc.apply(text + "---\n" + _netexec("never", "node-a"), check=False)
        assert result.returncode == 3, result.stderr
        assert "spec.ports[0].nodePort" in result.stderr and message in result.stderr
        assert re.search(r"manifest-\d+\.yaml", result.stderr)  # the file is named
    names = {i["metadata"]["name"] for i in svc.get_json("svc")["items"]} | {i["metadata"]["name"] for i in svc.get_json("pods")["items"]}
    assert not names & {"np-range", "np-taken", "never"}


def test_a_nodeport_is_released_when_the_service_changes_type_or_is_deleted(svc):
    svc.apply(service("np-free", type="NodePort"))
    port = node_port(svc, "np-free")
    assert 30000 <= port <= 32767
    svc.apply(service("np-free"))  # back to ClusterIP
    assert "nodePort" not in service_doc(svc, "np-free")["spec"]["ports"][0]
    assert (f"tcp . {port} " if nft(svc) else f"--dport {port} ") not in rules(svc, "node-a")
    svc.apply(service("np-claim", type="NodePort", ports=[{"port": 80, "targetPort": 8080, "nodePort": port}]))
    svc.nl("delete", "svc", "np-claim")
    svc.apply(service("np-again", type="NodePort", ports=[{"port": 80, "targetPort": 8080, "nodePort": port}]))
    assert host_get(f"http://{node_ip(svc, 'node-b')}:{port}/hostname") in {"web-a", "web-b"}
    svc.nl("delete", "svc", "np-again", "np-free")


# -- LoadBalancer --------------------------------------------------------------------------------


def test_a_loadbalancer_gets_a_pool_address_that_one_node_announces_and_the_host_reaches(svc):
    svc.apply(service("web-lb", type="LoadBalancer"))
    ip = lb_ip(svc, "web-lb")
    base = svc.ranges.underlay.network_address
    assert base + 200 <= IPv4Address(ip) <= base + 250  # the default pool: .200-.250 of the underlay
    row = svc_row(svc, "web-lb")
    assert row[1] == "LoadBalancer" and row[3] == ip and re.fullmatch(r"80:3\d{4}/TCP", row[4])
    owners = [node for node, addrs in announced(svc).items() if ip in addrs]
    assert len(owners) == 1, announced(svc)
    assert host_get(f"http://{ip}/hostname") in {"web-a", "web-b"}
    assert pod_get(svc, "client-b", f"http://{ip}/hostname") in {"web-a", "web-b"}
    described = svc.nl("describe", "svc", "web-lb").stdout
    assert f"{ip} (announced by {owners[0]}" in described
    assert "NodePort:" in described and ("external-" if nft(svc) else "KUBE-EXT-") in described


def test_load_balancer_ip_is_honoured_inside_the_pool_and_refused_outside_it(svc):
    wanted = str(svc.ranges.underlay.network_address + 240)
    svc.apply(service("lb-fixed", type="LoadBalancer", loadBalancerIP=wanted))
    assert lb_ip(svc, "lb-fixed") == wanted
    assert host_get(f"http://{wanted}/hostname") in {"web-a", "web-b"}
    outside = str(svc.ranges.underlay.network_address + 100)
    result = svc.apply(service("lb-outside", type="LoadBalancer", loadBalancerIP=outside), check=False)
    assert result.returncode == 3 and "spec.loadBalancerIP" in result.stderr and "pool" in result.stderr
    result = svc.apply(service("lb-twice", type="LoadBalancer", loadBalancerIP=wanted), check=False)
    assert result.returncode == 3 and "already allocated" in result.stderr
    svc.nl("delete", "svc", "lb-fixed")
    assert not any(wanted in addrs for addrs in announced(svc).values())


def test_load_balancer_source_ranges_let_only_the_listed_clients_in(svc):
    svc.apply(service("lb-fw", type="LoadBalancer", loadBalancerSourceRanges=["10.0.0.0/8"]))
    ip = lb_ip(svc, "lb-fw")
    assert host_curl(f"http://{ip}/hostname", timeout=1.5).returncode != 0  # dropped: the host is not in 10/8
    if nft(svc):
        assert re.search(rf"{ip} \. tcp \. 80 : goto firewall-", rules(svc, "node-a"))
    else:
        assert "KUBE-FW-" in rules(svc, "node-a") and "KUBE-PROXY-FIREWALL" in rules(svc, "node-a")
    svc.apply(service("lb-fw", type="LoadBalancer", loadBalancerSourceRanges=[f"{host_ip(svc)}/32"]))
    assert host_get(f"http://{ip}/hostname") in {"web-a", "web-b"}
    svc.nl("delete", "svc", "lb-fw")


# -- ExternalName and external IPs ------------------------------------------------------------------


def test_externalname_is_a_cname_with_no_rules(svc):
    svc.apply(
        yaml.safe_dump(
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "db-external"},
             "spec": {"type": "ExternalName", "externalName": "db.example.com"}}
        )
    )  # fmt: skip
    assert svc_row(svc, "db-external")[1:5] == ["ExternalName", "<none>", "db.example.com", "<none>"]
    for node in ("node-a", "node-b"):
        assert "db-external" not in rules(svc, node)
    answer = svc.exec("client-a", "dig", "+short", "db-external.default.svc.cluster.local", check=False).stdout
    assert "db.example.com." in answer


def test_external_ips_inside_the_underlay_are_announced_and_forwarded(svc):
    external = str(svc.ranges.underlay.network_address + 100)
    svc.apply(service("web-ext", externalIPs=[external]))
    assert svc_row(svc, "web-ext")[3] == external
    assert sum(external in addrs for addrs in announced(svc).values()) == 1
    assert host_get(f"http://{external}/hostname") in {"web-a", "web-b"}
    if nft(svc):
        assert re.search(rf"{external} \. tcp \. 80 : goto external-", rules(svc, "node-b"))
    else:
        assert re.search(rf"-A KUBE-SERVICES -d {external}/32 .*external IP.* -j KUBE-EXT-", rules(svc, "node-b"))
    result = svc.apply(service("web-ext-bad", externalIPs=["192.0.2.77"]), check=False)
    assert result.returncode == 3 and "spec.externalIPs[0]" in result.stderr and "underlay" in result.stderr
    svc.nl("delete", "svc", "web-ext")
    assert not any(external in addrs for addrs in announced(svc).values())


# -- changing the type in place ----------------------------------------------------------------------


def test_type_changes_in_place_leave_no_stale_rule_address_or_allocation(svc):
    svc.apply(service("morph"))
    cluster_ip = svc.cluster_ip("morph")
    before = {node: rules(svc, node) for node in ("node-a", "node-b")}
    addresses = announced(svc)
    svc.apply(service("morph", type="NodePort"))
    port = node_port(svc, "morph")
    assert host_get(f"http://{node_ip(svc, 'node-a')}:{port}/hostname") in {"web-a", "web-b"}
    svc.apply(service("morph", type="LoadBalancer"))
    assert node_port(svc, "morph") == port  # kept across NodePort -> LoadBalancer
    ip = lb_ip(svc, "morph")
    assert host_get(f"http://{ip}/hostname") in {"web-a", "web-b"}
    svc.apply(service("morph"))
    assert svc.cluster_ip("morph") == cluster_ip
    assert {node: rules(svc, node) for node in ("node-a", "node-b")} == before
    assert announced(svc) == addresses
    assert service_doc(svc, "morph")["status"]["loadBalancer"] == {}
    # The freed NodePort can be claimed again.
    svc.apply(service("morph-2", type="NodePort", ports=[{"port": 80, "targetPort": 8080, "nodePort": port}]))
    svc.nl("delete", "svc", "morph-2")
    # ExternalName <-> ClusterIP
    svc.apply(
        yaml.safe_dump(
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "morph"},
             "spec": {"type": "ExternalName", "externalName": "web.example.com"}}
        )
    )  # fmt: skip
    assert "default/morph" not in rules(svc, "node-a")
    svc.apply(service("morph"))
    assert pod_get(svc, "client-a", f"http://{svc.cluster_ip('morph')}/hostname") in {"web-a", "web-b"}
    svc.nl("delete", "svc", "morph")
    assert "default/morph" not in rules(svc, "node-a")


# -- traffic behaviour ---------------------------------------------------------------------------------


def test_external_traffic_policy_local_keeps_the_client_ip_and_drops_where_no_endpoint_is(svc):
    svc.apply(service("solo-local", selector="solo", type="NodePort", externalTrafficPolicy="Local"))
    port = node_port(svc, "solo-local")
    # solo runs on node-a: it sees the host's own address, not a node's.
    client = host_get(f"http://{node_ip(svc, 'node-a')}:{port}/clientip")
    assert client.split(":")[0] == host_ip(svc)
    # node-b has no endpoint: the packet is dropped (a timeout, not a refusal).
    assert host_curl(f"http://{node_ip(svc, 'node-b')}:{port}/clientip", timeout=1.5).returncode == 28
    if nft(svc):
        assert f'tcp . {port} comment "default/solo-local" : drop' in rules(svc, "node-b")
        assert "chain local-" in rules(svc, "node-a")
    else:
        assert '"default/solo-local has no local endpoints"' in rules(svc, "node-b")
        assert "KUBE-SVL-" in rules(svc, "node-a")
    # With the Cluster policy, node-b forwards — and masquerades, so the client IP is lost.
    svc.apply(service("solo-local", selector="solo", type="NodePort"))
    client = host_get(f"http://{node_ip(svc, 'node-b')}:{port}/clientip")
    assert client.split(":")[0] != host_ip(svc)
    svc.nl("delete", "svc", "solo-local")


def test_internal_traffic_policy_local_only_uses_endpoints_on_the_clients_node(svc):
    svc.apply(service("solo-itp", selector="solo", internalTrafficPolicy="Local"))
    ip = svc.cluster_ip("solo-itp")
    assert pod_get(svc, "client-a", f"http://{ip}/hostname") == "solo"
    result = svc.exec("client-b", "curl", "-sS", "-m", "1.5", f"http://{ip}/hostname", check=False)
    assert result.returncode == 28  # dropped on node-b: no local endpoint
    svc.apply(service("web-itp", internalTrafficPolicy="Local"))
    assert set(hostnames(svc, "client-b", f"http://{svc.cluster_ip('web-itp')}/hostname", 10)) == {"web-b"}
    svc.nl("delete", "svc", "solo-itp", "web-itp")


def test_session_affinity_client_ip_sticks_and_can_be_switched_off(svc):
    sticky = {"sessionAffinity": "ClientIP", "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 60}}}
    svc.apply(service("sticky", **sticky))
    url = f"http://{svc.cluster_ip('sticky')}/hostname"
    assert len(hostnames(svc, "client-a", url, 20)) == 1
    if nft(svc):
        assert "flags dynamic,timeout" in rules(svc, "node-a") and "timeout 1m" in rules(svc, "node-a")
    else:
        assert "-m recent --rcheck --seconds 60 --reap --name KUBE-SEP-" in rules(svc, "node-a")
    svc.apply(service("sticky"))
    assert ("affinity-" if nft(svc) else "recent") not in rules(svc, "node-a")
    assert len(hostnames(svc, "client-a", url, 40)) == 2  # 2^-39 chance of a false failure
    svc.nl("delete", "svc", "sticky")


def test_udp_flows_to_a_gone_endpoint_are_flushed_so_the_same_client_port_reaches_the_new_one(svc, wait_until):
    svc.apply(_netexec("udp-1", "node-a", app="udp") + "---\n" + service("udp", selector="udp", ports=[{"port": 53, "targetPort": 8081, "protocol": "UDP"}]))
    svc.wait_running("udp-1")
    ip = svc.cluster_ip("udp")

    def ask() -> str:
        return svc.exec("client-b", sys.executable, "-c", UDP_CLIENT, ip, "53").stdout.strip()

    assert wait_until(lambda: ask() == "udp-1" and "udp-1", timeout=10, what="udp-1 answers")
    svc.nl("delete", "pod", "udp-1")
    svc.apply(_netexec("udp-2", "node-b", app="udp"))
    svc.wait_running("udp-2")
    # Same client port: without the flush, conntrack would keep sending to udp-1's old IP.
    assert ask() == "udp-2"
    svc.nl("delete", "pod", "udp-2")
    svc.nl("delete", "svc", "udp")


def test_a_service_with_the_same_port_on_tcp_and_udp_and_several_ports_works(svc, wait_until):
    ports = [
        {"name": "http", "port": 8080, "targetPort": 8080, "nodePort": 30808},
        {"name": "udp", "port": 8080, "targetPort": 8081, "protocol": "UDP", "nodePort": 30808},
        {"name": "alt", "port": 81, "targetPort": 8080},
    ]
    svc.apply(service("multi", type="NodePort", ports=ports))
    row = svc_row(svc, "multi")
    assert row[4].startswith("8080:30808/TCP,8080:30808/UDP,81:3")
    ip = svc.cluster_ip("multi")
    assert pod_get(svc, "client-a", f"http://{ip}:8080/hostname") in {"web-a", "web-b"}
    assert pod_get(svc, "client-a", f"http://{ip}:81/hostname") in {"web-a", "web-b"}
    assert host_get(f"http://{node_ip(svc, 'node-a')}:30808/hostname") in {"web-a", "web-b"}
    answer = sh("nc", "-u", "-w", "1", node_ip(svc, "node-b"), "30808", input="hostname\n", check=False).stdout
    assert answer.strip() in {"web-a", "web-b"}
    svc.nl("delete", "svc", "multi")


# -- containment -----------------------------------------------------------------------------------


def test_probing_every_lab_address_from_the_host_only_touches_the_labs_own_veth(svc):
    svc.apply(service("contained", type="LoadBalancer", externalIPs=[str(svc.ranges.underlay.network_address + 101)]))
    targets = {
        *(node_ip(svc, n) for n in ("node-a", "node-b")),
        lb_ip(svc, "contained"),
        str(svc.ranges.underlay.network_address + 101),
        str(svc.ranges.underlay.network_address + 77),  # unused: nobody answers ARP
        svc.cluster_ip("contained"),
        svc.pod_ip("web-a"),
        svc.pod_ip("web-b"),
        str(svc.ranges.pod.network_address + 99),
    }
    port = node_port(svc, "contained")
    nets = " or ".join(f"net {n}" for n in svc.ranges.all())
    capture = subprocess.Popen(
        ["tcpdump", "-i", "any", "-nn", "-l", "-Q", "inout", nets],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        header = ""
        while "listening on" not in header and capture.poll() is None:
            header += capture.stderr.readline()
        assert "listening on" in header, header
        for target in sorted(targets):
            for dport in (80, port):
                host_curl(f"http://{target}:{dport}/hostname", timeout=0.5)
        # A last packet everybody can recognise (node-a's discard port, refused at once): once
        # tcpdump has printed it, it has printed every packet captured before it.
        sentinel = node_ip(svc, "node-a")
        host_curl(f"http://{sentinel}:9/", timeout=0.5)
        seen = _read_until(capture, f"> {sentinel}.9:", deadline=time.monotonic() + 10)
    finally:
        capture.send_signal(signal.SIGINT)  # tcpdump's own way to stop: it prints its counters
        rest, stats = capture.communicate(timeout=10)
    seen += rest
    assert re.search(r"^0 packets dropped by kernel", stats, re.M), stats
    interfaces = Counter(line.split()[1] for line in seen.splitlines() if line.strip())
    assert interfaces, "the probes produced no packet at all; the capture is not working"
    assert set(interfaces) == {f"{svc.name}0"}, interfaces
    svc.nl("delete", "svc", "contained")


# -- takeover ----------------------------------------------------------------------------------------


def test_when_the_announcing_node_is_gone_another_takes_the_address_and_tells_the_host(svc, wait_until):
    """The speaker step run in-process with one node left out of the healthy set, as after
    `netlab node fail`: the address moves, and a gratuitous ARP repoints the host at once."""
    from netlab.apiserver.state import locked, open_lab
    from netlab.controllers.endpoints import service_endpoints
    from netlab.metallb import speaker

    svc.apply(service("takeover", type="LoadBalancer"))
    ip = lb_ip(svc, "takeover")
    owner = next(node for node, addrs in announced(svc).items() if ip in addrs)
    other = "node-a" if owner == "node-b" else "node-b"
    assert host_get(f"http://{ip}/hostname") in {"web-a", "web-b"}  # the host learns owner's MAC

    def host_mac() -> str:
        return next((n.get("lladdr", "") for n in svc.ip_json("neigh", "show", ip)), "")

    def mac_of(node: str) -> str:
        return svc.ip_json("link", "show", "eth0", netns=svc.node_netns(node))[0]["address"]

    assert host_mac() == mac_of(owner)
    with locked(svc.name):
        lab = open_lab(svc.name)
        try:
            everything = [(se.obj, se.service, {"node-a": True, "node-b": True}) for se in service_endpoints(lab)]
            problems: list[str] = []
            owners = speaker.announce(lab, everything, [other], problems)
            assert owners[ip] == other and not problems
            assert ip in announced(svc)[other] and ip not in announced(svc)[owner]
            wait_until(lambda: host_mac() == mac_of(other), timeout=3, what="the host's ARP entry to follow")
            assert host_get(f"http://{ip}/hostname") in {"web-a", "web-b"}
            assert speaker.announce(lab, everything, ["node-a", "node-b"], problems)[ip] == owner  # it comes back
        finally:
            lab.close()
    svc.nl("delete", "svc", "takeover")
