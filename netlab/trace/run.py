"""`netlab trace` end to end: name the source, resolve the destination, assemble, probe.

The probe sends one real connection from the source (curl for TCP, nc for UDP, from a fixed
random source port so its conntrack entry is found exactly), then reads `conntrack -L` in the
node namespaces on the path: the reply tuple's source is the endpoint kube-proxy's random rule
really chose. The trace is then assembled again following that endpoint.
"""

from __future__ import annotations

import ipaddress
import os
import random
import re
import shutil
import subprocess
from dataclasses import dataclass, replace

from netlab import naming
from netlab.apiserver.state import Lab, pod_model
from netlab.dns.records import Records, read_records
from netlab.errors import EnvironmentProblem, InvalidInput, NotFound
from netlab.kernel import ns
from netlab.kubelet import podfiles
from netlab.trace import ingress, path, resolve
from netlab.trace.live import LiveWorld, pod_places, require_pod
from netlab.trace.model import Source, Step, Trace
from netlab.trace.walk import Packet, endpoint_text

PROBE_TIMEOUT = 3  # seconds for the probe's connection
DNS_SERVICE = "Service kube-system/kube-dns"


@dataclass(frozen=True)
class Request:
    source: str  # pod name, "host" or a node name
    destination: str  # as typed: name[:port], ip[:port]
    protocol: str  # tcp | udp
    namespace: str  # of the source pod, and of short names
    http_host: str = ""  # the Host header nginx routes by, when the connection ends in an ingress controller
    http_path: str = "/"
    http_headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Probe:
    command: str
    exit_code: int
    answer: str  # what the server said (the built-in web server names its pod)
    sport: int
    endpoint: str | None  # "ip:port" from conntrack; None when no DNAT happened
    conntrack: str  # the entry that says so


def source_of(lab: Lab, text: str, namespace: str) -> Source:
    if text == "host":
        return Source("host", "host", str(lab.topo.host_interface.ip), None)
    if any(n.name == text for n in lab.topo.nodes):
        node = lab.topo.node(text)
        return Source("node", f"node {text}", str(node.underlay_ip), naming.node_netns(lab.name, text), text)
    name = text.removeprefix("pod/")
    pod = require_pod(pod_places(lab), namespace, name)
    return Source("pod", f"pod {pod.ref}", pod.ip, pod.netns, pod.node, pod)


def _records(lab: Lab) -> Records:
    try:
        return read_records(lab.dns_records)
    except (OSError, ValueError):
        return Records(domain=lab.topo.domain, services=(), pods=())


def _resolv_conf(lab: Lab, source: Source, namespace: str) -> resolve.ResolvConf:
    if source.pod is not None:
        obj = lab.store.get("Pod", source.pod.namespace, source.pod.name)
        try:
            with open(os.path.join(obj.status["dir"], "resolv.conf")) as f:
                return resolve.ResolvConf.parse(f.read())
        except (OSError, KeyError, AttributeError):
            pass
    return resolve.ResolvConf.parse(podfiles.resolv_conf(namespace, lab.topo.domain, str(lab.topo.dns_ip)))


def _pod_port(lab: Lab, namespace: str, name: str, protocol: str) -> int | None:
    obj = lab.store.get("Pod", namespace, name)
    if obj is None:
        return None
    ports = [p for c in pod_model(obj).spec.containers for p in c.ports]
    chosen = [p.containerPort for p in ports if p.protocol.lower() == protocol] or [p.containerPort for p in ports]
    return chosen[0] if chosen else None


def destination_of(lab: Lab, source: Source, request: Request) -> tuple[str, int, tuple[Step, ...]]:
    """(address, port, steps before the packet leaves: the DNS answer)."""
    host, port = resolve.split_port(request.destination)
    where = source.name
    places = {(p.namespace, p.name): p for p in pod_places(lab)}
    pod_name = host.removeprefix("pod/")
    if resolve.is_ip(host):
        address, steps = host, ()
    elif host.startswith("pod/") or (("." not in host) and (request.namespace, host) in places):
        pod = places.get((request.namespace, pod_name))
        if pod is None:
            raise NotFound(f'pod "{pod_name}" in namespace "{request.namespace}" has no IP')
        address, steps = pod.ip, ()
        port = port or _pod_port(lab, request.namespace, pod_name, request.protocol)
    else:
        records = _records(lab)
        conf = _resolv_conf(lab, source, request.namespace)
        step, address = resolve.dns_step(host.removeprefix("svc/"), conf, records, where, DNS_SERVICE, lab.topo.families)
        steps = (step,)
        port = port or resolve.service_port(records, address, request.protocol)
    if port is None:
        pod = next((p for p in places.values() if address in (p.ips or (p.ip,))), None)
        port = _pod_port(lab, pod.namespace, pod.name, request.protocol) if pod else None
    if port is None:
        raise InvalidInput(f"{request.destination}: give the port as {host}:PORT (no Service or container port says which)")
    return address, port, steps


def refuse_outside_lab(lab: Lab, address: str) -> None:
    """Containment: a probe goes only to one of the lab's own addresses (pods, Services, the
    underlay with its load-balancer pool and external IPs) — never anywhere else."""
    ip = ipaddress.ip_address(address)
    ranges = lab.topo.lab_ranges
    if not any(ip in network for network in ranges):
        raise InvalidInput(
            f"refusing to probe {address}: it is outside lab {lab.name}'s ranges "
            f"({', '.join(str(n) for n in ranges)}); a probe never leaves the lab"
        )


def trace(lab: Lab, request: Request, do_probe: bool = False) -> tuple[Trace, Probe | None]:
    source = source_of(lab, request.source, request.namespace)
    address, port, before = destination_of(lab, source, request)
    if do_probe:
        refuse_outside_lab(lab, address)
    with LiveWorld(lab) as world:
        src_ip = source.ip
        if source.kind == "node" or (":" in address) != (":" in src_ip):
            # A node (or, across families, the host) leaves with the address its route picks;
            # a pod with its own address of the destination's family.
            own = source.pod.ip_for(6 if ":" in address else 4) if source.pod else None
            src_ip = own or world.route(source.netns, address).prefsrc or source.ip
        packet = Packet(src_ip, address, request.protocol, port)
        http = ingress.HttpRequest(request.http_host, request.http_path, request.http_headers)
        result = ingress.follow(lab, world, path.trace(world, source, packet, request.destination, before), http)
        if not do_probe:
            return result, None
        nodes = _nodes_on_path(result)
        found = probe(source, packet, [naming.node_netns(lab.name, n) for n in nodes])
        if found.endpoint:
            result = ingress.follow(lab, world, path.trace(world, source, packet, request.destination, before,
                                                           frozenset({found.endpoint})), http)
        step = Step(
            "probe", source.name, found.command,
            f"exit {found.exit_code}" + (f"; conntrack: endpoint {found.endpoint}" if found.endpoint else "; conntrack: no DNAT")
            + (f"; answer: {found.answer}" if found.answer else ""),
            (found.conntrack,) if found.conntrack else (),
            {"endpoint": found.endpoint, "answer": found.answer, "exit_code": found.exit_code, "sport": found.sport},
        )  # fmt: skip
        return replace(result, steps=result.steps + (step,)), found


def _nodes_on_path(result: Trace) -> list[str]:
    seen = []
    for step in result.steps:
        if step.kind == "netfilter" and step.where.startswith("node "):
            node = step.where.split(" ", 1)[1]
            if node not in seen:
                seen.append(node)
    return seen


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise EnvironmentProblem(f"{name} not found", detail="--probe needs curl, nc and conntrack: scripts/setup.sh installs them")
    return found


def probe(source: Source, packet: Packet, node_netns: list[str]) -> Probe:
    sport = random.randint(40000, 59999)
    if packet.protocol == "tcp":
        argv = [_tool("curl"), "-sS", "-g", "-m", str(PROBE_TIMEOUT), "--local-port", str(sport), f"http://{endpoint_text(packet.dst, packet.dport)}/"]
        stdin = None
    else:
        argv = [_tool("nc"), "-u", "-w", "1", "-p", str(sport), packet.dst, str(packet.dport)]
        stdin = "hostname\n"
    run = lambda: subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=PROBE_TIMEOUT + 5)  # noqa: E731
    if source.netns:
        with ns.entered(ns.netns_path(source.netns)):
            result = run()
    else:
        result = run()
    endpoint, line = None, ""
    conntrack = _tool("conntrack")
    for netns in node_netns:
        with ns.entered(ns.netns_path(netns)):
            listed = subprocess.run(
                [conntrack, "-L", *(["-f", "ipv6"] if ":" in packet.dst else []), "-p", packet.protocol, "--orig-port-src", str(sport)],
                capture_output=True, text=True,
            )  # fmt: skip
        for entry in listed.stdout.splitlines():
            tuples = re.findall(r"src=(\S+) dst=(\S+) sport=(\d+) dport=(\d+)", entry)
            if len(tuples) >= 2 and tuples[0][1] == packet.dst:
                line = f"{netns}: {entry.strip()}"
                reply_src, _, reply_sport, _ = tuples[1]
                if reply_src != packet.dst:
                    endpoint = endpoint_text(reply_src, int(reply_sport))
                break
        if line:
            break
    answer = (result.stdout or "").strip().splitlines()
    command = " ".join([os.path.basename(argv[0]), *argv[1:]])
    said = answer[0] if answer else (result.stderr or "").strip()
    return Probe(command, result.returncode, said, sport, endpoint, line)
