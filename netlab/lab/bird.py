"""BIRD 2 in every node of a `routing: bgp` lab, as calico-node runs it: one daemon per node,
in the node's network namespace, configured by netlab (`routing.bird_config`).

Files live in the lab's state directory, `state/<cluster>/bird/`: `<node>.conf`, the control
socket `<node>.ctl` (`birdc -s … show protocols`), `<node>.log` and `<node>.pid` (pid and
start time, as containers are recorded). Supervision follows the containers' rules: a daemon
is ours only if its pid *and* start time match the record; one found running in the node's
namespace without a record (a start whose record was lost) is adopted, never doubled; a dead
one is started again by the next wiring pass (the control plane's, at the latest its resync).
It dies with its node: `node fail`, `cluster delete` and `reset` stop every process of a node
namespace before unpinning it, so `reset` finds BIRD even without any state.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time

from netlab import naming
from netlab.api.addressing import NodeNet, Topology
from netlab.errors import EnvironmentProblem, KernelError
from netlab.kernel import ns, procs
from netlab.lab.routing import bird_config

BIRD = "bird"
BIRDC = "birdc"
PACKAGE = "bird2"  # Debian's BIRD 2 (bird / birdc)
BIRDC_TIMEOUT = 5.0
MESH_TIMEOUT = 10.0  # `cluster create` returns once every node has every other's routes


def require_bird() -> None:
    """`routing: bgp` needs Debian's bird2; say so before anything is built."""
    missing = [tool for tool in (BIRD, BIRDC) if shutil.which(tool) is None]
    if missing:
        raise EnvironmentProblem(
            f"routing mode bgp needs BIRD 2 ({', '.join(missing)} not found)",
            detail=f"install it: apt-get install {PACKAGE} (scripts/setup.sh does), or choose --routing host-gw|vxlan",
        )


def paths(cluster: str, node: str) -> dict[str, str]:
    base = os.path.join(naming.bird_dir(cluster), node)
    return {"conf": base + ".conf", "ctl": base + ".ctl", "log": base + ".log", "pid": base + ".pid"}


def recorded(cluster: str, node: str) -> procs.ProcessRef | None:
    try:
        with open(paths(cluster, node)["pid"]) as f:
            pid, started = f.read().split()
        return procs.ProcessRef(int(pid), int(started))
    except (OSError, ValueError):
        return None


def running(cluster: str, node: str) -> procs.ProcessRef | None:
    """The node's BIRD if it runs: the recorded one, or one found in the node's namespace
    (adopted: the record is written again)."""
    ref = recorded(cluster, node)
    if ref is not None and procs.alive(ref):
        return ref
    netns = ns.netns_path(naming.node_netns(cluster, node))
    ctl = paths(cluster, node)["ctl"]
    for pid in procs.pids_in_netns(netns):
        argv = procs.command_line(pid)
        if argv and os.path.basename(argv[0]) == BIRD and ctl in argv:
            started = procs.start_time(pid)
            if started is not None:
                found = procs.ProcessRef(pid, started)
                _record(cluster, node, found)
                return found
    return None


def _record(cluster: str, node: str, ref: procs.ProcessRef) -> None:
    path = paths(cluster, node)["pid"]
    with open(path + ".tmp", "w") as f:
        f.write(f"{ref.pid} {ref.start_time}\n")
    os.replace(path + ".tmp", path)


def ensure_running(topo: Topology, down: frozenset[str] = frozenset()) -> list[procs.ProcessRef]:
    """Every live node's BIRD running with its current config; (re)started where dead."""
    require_bird()
    os.makedirs(naming.bird_dir(topo.cluster), exist_ok=True)
    return [ensure_node(topo, node) for node in topo.nodes if node.name not in down]


def daemons(topo: Topology, down: frozenset[str] = frozenset()) -> list[procs.ProcessRef]:
    """The recorded, running BIRDs of the live nodes (the control plane watches their exits)."""
    refs = [recorded(topo.cluster, n.name) for n in topo.nodes if n.name not in down]
    return [r for r in refs if r is not None and procs.alive(r)]


def ensure_node(topo: Topology, node: NodeNet) -> procs.ProcessRef:
    p = paths(topo.cluster, node.name)
    text = bird_config(topo, node)
    try:
        with open(p["conf"]) as f:
            changed = f.read() != text
    except FileNotFoundError:
        changed = True
    if changed:
        with open(p["conf"] + ".tmp", "w") as f:
            f.write(text)
        os.replace(p["conf"] + ".tmp", p["conf"])
    ref = running(topo.cluster, node.name)
    if ref is not None:
        if changed:
            birdc(topo.cluster, node.name, "configure")
        return ref
    if os.path.lexists(p["ctl"]):
        os.unlink(p["ctl"])  # a dead daemon's socket: BIRD would refuse to bind it
    netns = ns.netns_path(naming.node_netns(topo.cluster, node.name))
    ref = procs.start_daemon(netns, [BIRD, "-f", "-c", p["conf"], "-s", p["ctl"]], p["log"])
    _record(topo.cluster, node.name, ref)
    return ref


def stop(cluster: str, node: str) -> None:
    """Stop the node's BIRD (its routes leave the kernel with it; the peers' hold timers
    withdraw the node's block from the others)."""
    ref = running(cluster, node)
    if ref is not None:
        procs.terminate([ref], grace=2.0)
    for key in ("pid", "ctl"):
        try:
            os.unlink(paths(cluster, node)[key])
        except FileNotFoundError:
            pass


def learned(topo: Topology, node: str, family: int | None = None) -> dict[str, str]:
    """{pod block: next hop} that BIRD wrote into the node's kernel table (proto bird), of one
    family or (None) of both: the /24s learned over the IPv4 sessions, the /64s over the IPv6."""
    from netlab.kernel.netlink import Netlink

    with Netlink(ns.netns_path(naming.node_netns(topo.cluster, node))) as nl:
        return {r.dst: r.gateway or "" for r in nl.routes(family) if r.proto == naming.RTPROT_BIRD}


def wait_mesh(topo: Topology, down: frozenset[str] = frozenset(), timeout: float = MESH_TIMEOUT) -> list[str]:
    """Wait until every live node has learned every other live node's blocks (of every family);
    the nodes still missing some when the time is up (none: the mesh is complete)."""
    live = [n for n in topo.nodes if n.name not in down]
    deadline = time.monotonic() + timeout
    while True:
        missing = [
            n.name for n in live
            if not {str(s) for o in live if o.name != n.name for s in o.subnets} <= set(learned(topo, n.name))
        ]  # fmt: skip
        if not missing or time.monotonic() >= deadline:
            return missing
        time.sleep(0.05)


def power_off(cluster: str, node: str) -> None:
    """A node's BIRD dies with its node, without a word: no BGP NOTIFICATION tells the peers,
    so they find out when their hold timer (3 s) expires, as they would on a real failure."""
    ref = running(cluster, node)
    if ref is not None:
        procs.signal_process(ref, signal.SIGKILL)


def birdc(cluster: str, node: str, *command: str) -> str:
    """BIRD's own answer to a CLI command (`show protocols`, `show route`), as text."""
    try:
        result = subprocess.run(
            [BIRDC, "-s", paths(cluster, node)["ctl"], *command],
            capture_output=True, text=True, timeout=BIRDC_TIMEOUT,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise KernelError(f"birdc on node {node}: {exc}") from None
    if result.returncode != 0:
        raise KernelError(f"birdc on node {node}: {(result.stderr or result.stdout).strip()}")
    return result.stdout
