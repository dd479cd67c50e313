"""The control plane's HTTPS endpoint behind `default/kubernetes`, run and supervised as BIRD
is (`lab/bird.py`).

Where it lives: the lab's **fabric namespace** (the switch's own netns, which netlab owns),
with the control-plane address `apiserver.endpoint.address` — the underlay's second address —
on the fabric bridge, like an apiserver on a control-plane machine plugged into the same switch
as the nodes. It listens on that address alone, never on a host interface: the host keeps its
one veth, and a packet from outside the machine has no way to it but the host's routes into
the lab, the same as the nodes' addresses. The fabric gets a route to each node's pod subnet
via that node, as a control-plane machine has (flannel host-gw's routes), so the answers to
pods go back through the node that DNATed them.

Files live in `state/<cluster>/apiserver/`: `apiserver.crt` and `apiserver.key` (self-signed,
made once at lab creation by `openssl req`, with kubeadm's subject alternative names), the log
and the pid record (pid and start time). One found running in the fabric namespace without a
record is adopted; a dead one is started again by the next wiring pass or when the control
plane sees it exit (it waits on its pidfd beside the containers'). It goes with the fabric:
`cluster delete` and `reset` stop every process of an owned namespace before unpinning it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from ipaddress import ip_interface

from netlab import naming
from netlab.api.addressing import Topology
from netlab.apiserver import endpoint
from netlab.errors import EnvironmentProblem
from netlab.kernel import ns, procs
from netlab.kernel.netlink import Netlink

MODULE = "netlab.apiserver.serve"
CERT_DAYS = 3650
OPENSSL_TIMEOUT = 30.0


def state_dir(cluster: str) -> str:
    return os.path.join(naming.cluster_dir(cluster), "apiserver")


def paths(cluster: str) -> dict[str, str]:
    base = state_dir(cluster)
    return {k: os.path.join(base, f) for k, f in
            (("crt", "apiserver.crt"), ("key", "apiserver.key"), ("log", "apiserver.log"), ("pid", "apiserver.pid"))}  # fmt: skip


def ensure_certificate(topo: Topology) -> None:
    """A self-signed serving certificate for the endpoint, made once (openssl, an EC P-256 key)."""
    p = paths(topo.cluster)
    if os.path.exists(p["crt"]) and os.path.exists(p["key"]):
        return
    os.makedirs(state_dir(topo.cluster), exist_ok=True)
    sans = ",".join(endpoint.subject_alt_names(topo.service_cidr, topo.underlay, topo.domain))
    argv = [
        "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-days", str(CERT_DAYS), "-subj", "/CN=kube-apiserver", "-addext", f"subjectAltName={sans}",
        "-keyout", p["key"] + ".tmp", "-out", p["crt"] + ".tmp",
    ]  # fmt: skip
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=OPENSSL_TIMEOUT)
    except FileNotFoundError:
        raise EnvironmentProblem("the apiserver endpoint needs openssl", detail="apt-get install openssl (scripts/setup.sh does)") from None
    if result.returncode != 0:
        raise EnvironmentProblem("openssl could not make the apiserver's certificate", detail=result.stderr.strip())
    os.chmod(p["key"] + ".tmp", 0o600)
    os.replace(p["key"] + ".tmp", p["key"])
    os.replace(p["crt"] + ".tmp", p["crt"])


def ensure_network(topo: Topology, fabric_path: str) -> None:
    """The control-plane address on the fabric bridge, and routes back to every node's pods."""
    with Netlink(fabric_path) as fabric:
        fabric.ensure_address(naming.FABRIC_BRIDGE, ip_interface(f"{endpoint.address(topo.underlay)}/{topo.underlay.prefixlen}"))
        for node in topo.nodes:
            fabric.ensure_route(str(node.subnet), gateway=str(node.underlay_ip), proto=naming.RTPROT_NETLAB)


def recorded(cluster: str) -> procs.ProcessRef | None:
    try:
        with open(paths(cluster)["pid"]) as f:
            pid, started = f.read().split()
        return procs.ProcessRef(int(pid), int(started))
    except (OSError, ValueError):
        return None


def running(cluster: str) -> procs.ProcessRef | None:
    """The endpoint's server if it runs: the recorded one, or one found in the fabric (adopted)."""
    ref = recorded(cluster)
    if ref is not None and procs.alive(ref):
        return ref
    for pid in procs.pids_in_netns(ns.netns_path(naming.fabric_netns(cluster))):
        argv = procs.command_line(pid)
        if MODULE in argv and paths(cluster)["crt"] in argv:
            started = procs.start_time(pid)
            if started is not None:
                found = procs.ProcessRef(pid, started)
                _record(cluster, found)
                return found
    return None


def _record(cluster: str, ref: procs.ProcessRef) -> None:
    path = paths(cluster)["pid"]
    with open(path + ".tmp", "w") as f:
        f.write(f"{ref.pid} {ref.start_time}\n")
    os.replace(path + ".tmp", path)


def ensure_running(topo: Topology) -> procs.ProcessRef:
    """The endpoint answering on the control-plane address: certificate, address, routes, and
    the server (started when it is not running)."""
    fabric_path = ns.netns_path(naming.fabric_netns(topo.cluster))
    ensure_certificate(topo)
    ensure_network(topo, fabric_path)
    ref = running(topo.cluster)
    if ref is not None:
        return ref
    p = paths(topo.cluster)
    argv = [sys.executable, "-m", MODULE, str(endpoint.address(topo.underlay)), str(endpoint.SECURE_PORT), p["crt"], p["key"]]
    ref = procs.start_daemon(fabric_path, argv, p["log"])
    _record(topo.cluster, ref)
    return ref


def daemons(cluster: str) -> list[procs.ProcessRef]:
    """The recorded, running server (the control plane waits on its exit)."""
    ref = recorded(cluster)
    return [ref] if ref is not None and procs.alive(ref) else []
