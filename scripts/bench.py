#!/usr/bin/env python3
"""How fast netlab builds pods, heals, programs Service rules and forwards, beside baselines.

Run as root from the repository:  python scripts/bench.py [--only PARTS] [--repeat 3] [--json]

It builds its own cluster and measures its parts (`--only pods,node-failure,rules,nodeport,ingress,live,cli`),
each R times, each beside a baseline taken in the same run:

- pods (`--sizes 10,100`): `netlab apply -f` of N `pause` pods plus one ClusterIP Service, and
  `netlab delete -f` of the same file: whole CLI processes, wall clock until they return (after
  each apply every pod must be Running, or the run fails). Then the pod network plumbing alone,
  in-process with netlab's own library (`sandbox.create`/`sandbox.destroy_many` with one netlink
  socket on the node namespace, as reconcile does), beside the same plumbing with plain `ip`
  commands from a shell script (8 processes per pod) and with `ip -batch` (about one per pod),
  in a scratch node namespace with its own `cni0` bridge. Interleaved so drift hits every row.
- node-failure: a Deployment of 3 web pods, all on node-b, a ClusterIP Service and a client pod
  on node-a, with the lab's control plane running (as it always does). From the start of
  `netlab node fail node-b` until the client gets an answer through the Service from a pod on
  node-a created after the fail; beside it the fail command's own duration. Recovered between
  runs.
- rules (`--services 100,1000`): N ClusterIP Services, each with an endpoint (N-1 select one
  `filler` pod, `probe` selects its own Deployment). From the start of `netlab scale
  deploy/probe --replicas 2` until the new endpoint is in node-a's KUBE-SVC chain of `probe`
  (`iptables -t nat -S`; and back to 1 until the old one is gone); beside it one `iptables-restore` of node-a's saved
  tables alone: what a whole-table sync loads. A note says how netlab's own last sync of node-a
  went (whole tables, or kube-proxy's partial sync: `--noflush` with the changed chains only).
- nodeport (`--requests 2000`): sequential HTTP/1.0 GETs, each on a new connection, to one
  built-in web server pod: from the host to node-a's underlay IP and NodePort (DNAT and SNAT),
  from node-a's namespace to the ClusterIP (DNAT), and from node-a's namespace to the pod IP
  directly (the baseline; the host cannot route pod IPs by design). The three take turns
  request by request, from this process (sockets made inside node-a's namespace).
- ingress: the controllers of manifests/ingress/ and manifests/gateway/, one backend pod, a
  host-less Ingress and HTTPRoute to it. Sequential HTTP/1.0 GETs (at most 500 per run) from the
  host to the ingress and the Gateway LB IPs (kube-proxy's DNAT to an nginx pod, nginx to the
  backend pod), beside node-a → pod IP as the baseline; and the time from the start of `netlab
  apply` of a new path (in both) until nginx answers it with 200: validation, the control
  plane's publish, the pods' nginx -t and graceful reload.
- cli (`--get-pods 100`): whole `python -m netlab` processes that answer at once: `--version`,
  `--help`, `get pods` on the lab holding N Running pods and `exec POD -- true` into one of
  them (netlab's bytecode compiled first, as pip does); each run right after a bare
  `python -c pass` of the same interpreter (A B A B), whose median is the baseline row. The
  target is the issue's: under 3× the baseline. `--only cli --get-pods 0` builds no lab and
  needs no root (`--version` and `--help` only).

- sync (`--only sync --kube-proxy-mode both --sync-services 100,1000,10000`): kube-proxy's rules
  sync in each mode, side by side, in scratch namespaces (no lab): a full sync of N Services
  and the sync after one endpoint change, with the same library calls the control plane makes
  (scripts/bench_sync.py), then 300 short TCP connections to the cluster IP of the Service
  that comes last in KUBE-SERVICES (the first-packet cost). The nftables rows say their ratio
  to the iptables rows.

It prints median and minimum (for rates: median and best), with a target column: the plumbing
must cost under 15 ms per pod, `apply` of 100 pods at most 0.6× the plain-`ip` plumbing of the
same pods in the same run (`ip commands`; the issue's targets for a 2-core machine). Everything it makes is removed at the end, also on failure: its cluster (with its
control plane), and every namespace named `nlbench-*`. `--keep` leaves the cluster, with
the largest set of pods, for inspection. Traffic goes only to the benchmark lab's addresses.
"""


from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import uuid
from dataclasses import dataclass, replace
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Callable, Sequence

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from netlab.api.addressing import NodeNet
from netlab.apiserver import state as labs
from netlab.kernel import ns  # noqa: E402
from netlab.kernel.netlink import Netlink  # noqa: E402
from netlab.kubelet import sandbox
from netlab.proxy import names as proxy_names

PAUSE_IMAGE = "registry.k8s.io/pause:3.9"
PLUMBING_TARGET_MS = 15.0  # per pod
APPLY_TARGET_RATIO = 0.6  # of the `ip commands` plumbing of the same pods, for 100 pods
APPLY_TARGET_SIZE = 100

# The scratch "node" of the plumbing measurements: a namespace of its own, never routed from
# the host, so its addresses cannot clash with any lab.
PREFIX = "nlbench-"
SCRATCH_NODE = PREFIX + "node"
SCRATCH_SUBNET = IPv4Network("10.152.1.0/24")
SCRATCH_GATEWAY = SCRATCH_SUBNET.network_address + 1
SCRATCH_CLUSTER = PREFIX + "sb"  # netlab's sandboxes are named "nlbench-sb.plumb.pI"
MAX_SCRATCH_PODS = SCRATCH_SUBNET.num_addresses - 3
MAX_LAB_PODS = 2500  # above MAX_SCRATCH_PODS only apply and delete are measured (spread over --nodes)

# Bounds on everything that waits: a poll for an effect, a command run in the background, the
# load client (it also stops after its fixed number of requests).
POLL_DEADLINE_S = 60.0
COMMAND_DEADLINE_S = 180.0
LOAD_LIMIT_S = 60.0
MAX_SERVICES = 10000  # Services of the rules part; a /16 service CIDR holds them
MAX_REQUESTS = 10000  # per run and path of the nodeport part


def note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# -- results -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    limit_ms: float
    per_pod: bool  # the limit applies to the per-pod figure, else to the total
    said: str = ""  # how the table states it, when the limit derives from a baseline ("< 3× …")

    def met(self, total_ms: float, per_pod_ms: float) -> bool:
        return (per_pod_ms if self.per_pod else total_ms) < self.limit_ms

    def __str__(self) -> str:
        if self.said:
            return self.said
        return f"< {self.limit_ms:g} ms/pod" if self.per_pod else f"< {self.limit_ms / 1000:g} s"


@dataclass(frozen=True)
class Row:
    label: str
    size: int
    seconds: tuple[float, ...]  # one sample per repeat
    target: Target | None = None
    per: str = "pod"  # the per-item column: ms per "pod", a rate per "request", or "" for none
    note: str = ""

    @property
    def median_ms(self) -> float:
        return statistics.median(self.seconds) * 1000

    @property
    def min_ms(self) -> float:
        return min(self.seconds) * 1000

    def per_pod(self, total_ms: float) -> float:
        return total_ms / self.size

    def rate(self, total_ms: float) -> float:
        return self.size / (total_ms / 1000)

    @property
    def target_met(self) -> bool | None:
        """Judged on the median; None when the row has no target."""
        if self.target is None:
            return None
        return self.target.met(self.median_ms, self.per_pod(self.median_ms))

    @property
    def verdict(self) -> str:
        if self.target is None:
            return self.note
        judged = f"{'✓' if self.target_met else '✗'} {self.target}"
        return f"{judged} ({self.note})" if self.note else judged

    def to_json(self) -> dict:
        figures = {
            "measurement": self.label,
            "size": self.size,
            "samples_ms": [round(s * 1000, 2) for s in self.seconds],
            "median_ms": round(self.median_ms, 2),
            "min_ms": round(self.min_ms, 2),
            "target": str(self.target) if self.target else None,
            "target_met": self.target_met,
            "note": self.note or None,
        }
        if self.per == "pod":
            figures["median_per_pod_ms"] = round(self.per_pod(self.median_ms), 3)
            figures["min_per_pod_ms"] = round(self.per_pod(self.min_ms), 3)
        elif self.per == "request":
            figures["median_requests_per_s"] = round(self.rate(self.median_ms), 1)
            figures["best_requests_per_s"] = round(self.rate(self.min_ms), 1)
        return figures


@dataclass(frozen=True)
class Measurement:
    """A row of the table before its figures: its label (" N " becomes the size) and unit."""

    label: str
    per: str = "pod"


class Samples:
    """Seconds per (measurement, N) as a section takes them, and the notes that go with them."""

    def __init__(self) -> None:
        self._seconds: dict[tuple[str, int], list[float]] = {}
        self._notes: dict[tuple[str, int], str] = {}

    def add(self, label: str, size: int, seconds: float, note: str = "") -> None:
        self._seconds.setdefault((label, size), []).append(seconds)
        self.annotate(label, size, note)

    def annotate(self, label: str, size: int, note: str) -> None:
        if note:
            self._notes[(label, size)] = note

    def rows(
        self, measurements: Sequence[Measurement], target: Callable[[str, int], Target | None] = lambda _l, _s: None
    ) -> list[Row]:
        """One row per measurement taken, grouped by size in the order the sizes were first seen."""
        sizes = dict.fromkeys(size for _, size in self._seconds)
        return [
            Row(
                m.label.replace(" N ", f" {size} "),
                size,
                tuple(self._seconds[(m.label, size)]),
                target(m.label, size),
                m.per,
                self._notes.get((m.label, size), ""),
            )
            for size in sizes
            for m in measurements
            if (m.label, size) in self._seconds
        ]


# -- running things ----------------------------------------------------------------------------


class BenchError(Exception):
    pass


def run(argv: Sequence[str], *, stdin: str | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run(list(argv), input=stdin, text=True, capture_output=True, cwd=REPO)
    if result.returncode != 0:
        raise BenchError(
            f"{' '.join(argv)} exited with {result.returncode}\n{result.stdout}{result.stderr}".rstrip()
        )
    return result


def netlab(*args: str) -> subprocess.CompletedProcess:
    return run([sys.executable, "-m", "netlab", *args])


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def wait_until(condition: Callable[[], bool], what: str, deadline_s: float = 30.0) -> None:
    deadline = time.monotonic() + deadline_s
    while not condition():
        if time.monotonic() > deadline:
            raise BenchError(f"timed out after {deadline_s:g} s waiting for {what}")
        time.sleep(0.05)


# -- the lab and its pods ----------------------------------------------------------------------


@dataclass(frozen=True)
class LabSpec:
    name: str
    pod_cidr: str
    service_cidr: str
    underlay_cidr: str
    nodes: int = 2
    kube_proxy_mode: str = "iptables"

    def config_yaml(self) -> str:
        names = "".join(f"  - name: node-{chr(ord('a') + i)}\n" for i in range(self.nodes))
        return (
            "apiVersion: netlab.dev/v1alpha1\n"
            "kind: Cluster\n"
            f"metadata:\n  name: {self.name}\n"
            f"spec:\n  podCIDR: {self.pod_cidr}\n  serviceCIDR: {self.service_cidr}\n"
            f"  underlayCIDR: {self.underlay_cidr}\n  kubeProxyMode: {self.kube_proxy_mode}\n  nodes:\n{names}"
        )


def pods_manifest(size: int) -> str:
    docs = [
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: bench\nspec:\n"
        "  selector:\n    app: bench\n  ports:\n  - port: 80\n    targetPort: 8080\n"
    ]
    for i in range(size):
        docs.append(
            f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: bench-{i}\n  labels:\n    app: bench\n"
            f"spec:\n  containers:\n  - name: pause\n    image: {PAUSE_IMAGE}\n"
        )
    return "---\n".join(docs)


def check_running(cluster: str, size: int) -> None:
    listed = json.loads(netlab("get", "pods", "-o", "json", "-l", "app=bench", "--cluster", cluster).stdout)
    items = listed.get("items", [])
    running = [p for p in items if p.get("status", {}).get("phase") == "Running"]
    if len(items) != size or len(running) != size:
        others = sorted(
            f"{p['metadata']['name']}={p.get('status', {}).get('phase')}" for p in items if p not in running
        )
        raise BenchError(
            f"after apply: {len(running)} of {size} pods Running ({len(items)} listed); "
            f"not running: {', '.join(others[:10]) or '-'}"
        )


def check_gone(cluster: str) -> None:
    listed = json.loads(netlab("get", "pods", "-o", "json", "-l", "app=bench", "--cluster", cluster).stdout)
    if listed.get("items"):
        raise BenchError(f"after delete: {len(listed['items'])} bench pods still listed")
    left = [n for n in ns.list_netns() if n.startswith(f"{cluster}.default.bench-")]
    if left:
        raise BenchError(f"after delete: pod namespaces remain: {', '.join(left[:5])}")


# -- plumbing: netlab's library and plain ip ---------------------------------------------------


def scratch_node_up() -> None:
    """The node namespace both plumbings plug pods into: lo and a cni0 bridge with .1."""
    run(["ip", "netns", "add", SCRATCH_NODE])
    run(
        ["ip", "-n", SCRATCH_NODE, "-batch", "-"],
        stdin=(
            "link set lo up\n"
            "link add cni0 type bridge\n"
            f"addr add {SCRATCH_GATEWAY}/{SCRATCH_SUBNET.prefixlen} dev cni0\n"
            "link set cni0 up\n"
        ),
    )


def pod_ip(i: int) -> IPv4Address:
    return SCRATCH_SUBNET.network_address + 2 + i


def scratch_ports() -> list[str]:
    with Netlink(ns.netns_path(SCRATCH_NODE)) as node:
        return node.bridge_ports("cni0")


def lab_pod_ports(cluster: str) -> int:
    """The ports of the lab's node bridges, beside the pods that should have one."""
    ports = 0
    for name in ns.list_netns():
        if name.startswith(cluster + ".node-"):
            with Netlink(ns.netns_path(name)) as node:
                ports += len(node.bridge_ports("cni0"))
    return ports


def settle(cluster: str | None = None) -> None:
    """Namespaces die asynchronously in the kernel (`ip netns del` and netlab's teardown
    return before their veths are gone): start each timed run once those of the runs before
    it are — the scratch node's bridge empty and, with `cluster`, the lab's bridges down to
    the ports of the pods it still has — so no row pays for another's teardown."""
    wait_until(lambda: not scratch_ports(), "the scratch node's cni0 to lose its ports")
    if cluster is not None:
        pods = json.loads(netlab("get", "pods", "-A", "-o", "json", "--cluster", cluster).stdout)["items"]
        wanted = sum(1 for p in pods if not p["spec"].get("hostNetwork") and p.get("status", {}).get("podIP"))
        wait_until(lambda: lab_pod_ports(cluster) <= wanted, f"the bridges of {cluster} to lose the ports of deleted pods")


def check_plumbed(netns: str, ip: IPv4Address) -> None:
    with Netlink(ns.netns_path(netns)) as pod:
        if [str(a.ip) for a in pod.addresses("eth0")] != [str(ip)]:
            raise BenchError(f"{netns}: eth0 does not carry {ip}")


def netlab_plumbing(size: int, cluster: str) -> tuple[float, float]:
    """(create, destroy) seconds for `size` sandboxes made by netlab's own library."""
    node = NodeNet(name=SCRATCH_NODE, index=0, subnets=(SCRATCH_SUBNET,), underlay_ips=(SCRATCH_GATEWAY,))
    boxes: list[sandbox.Sandbox] = []

    def create() -> None:
        with Netlink(ns.netns_path(SCRATCH_NODE)) as node_link:
            for i in range(size):
                name = f"p{i}"
                boxes.append(
                    sandbox.create(SCRATCH_CLUSTER, "plumb", name, str(uuid.uuid4()), name, node, node_link, (pod_ip(i),))
                )

    def destroy() -> None:
        # As the kubelet's sandbox step removes pods: every process signalled, then every
        # namespace unpinned (one scan of the process table for all of them, not one per pod).
        sandbox.destroy_many([box.netns for box in boxes])

    settle(cluster)
    try:
        made = timed(create)
        check_plumbed(boxes[0].netns, pod_ip(0))
        check_plumbed(boxes[-1].netns, pod_ip(size - 1))
        return made, timed(destroy)
    finally:
        destroy()  # repeated teardown is a no-op; this covers a failed check


def ip_pod_steps(i: int, pod_ns: str) -> tuple[list[str], list[str]]:
    """The `ip` commands that plumb pod `i`: (in the node namespace, in the pod's namespace)."""
    veth = f"veth{i}"
    node_side = [
        f"link add {veth} type veth peer name eth0 netns {pod_ns}",
        f"link set {veth} master cni0 up",
    ]
    pod_side = [
        f"addr add {pod_ip(i)}/{SCRATCH_SUBNET.prefixlen} dev eth0",
        "link set eth0 up",
        "link set lo up",
        f"route add default via {SCRATCH_GATEWAY}",
    ]
    return node_side, pod_side


def run_script(text: str) -> None:
    with tempfile.NamedTemporaryFile("w", prefix=PREFIX, suffix=".sh") as script:
        script.write(text)
        script.flush()
        run(["sh", "-e", script.name])


def ip_plumbing(size: int, cluster: str) -> tuple[float, float]:
    """(create, destroy) seconds with one `ip` process per step, as a shell script would do."""
    names = [f"{PREFIX}p{i}" for i in range(size)]
    lines = []
    for i, name in enumerate(names):
        node_side, pod_side = ip_pod_steps(i, name)
        lines += [f"ip netns add {name}"]
        lines += [f"ip -n {SCRATCH_NODE} {c}" for c in node_side]
        lines += [f"ip -n {name} {c}" for c in pod_side]
    create = "\n".join(lines) + "\n"
    destroy = "".join(f"ip netns del {name}\n" for name in names)
    settle(cluster)
    try:
        made = timed(lambda: run_script(create))
        check_plumbed(names[0], pod_ip(0))
        check_plumbed(names[-1], pod_ip(size - 1))
        return made, timed(lambda: run_script(destroy))
    finally:
        remove_scratch_pods()


def ip_batch_plumbing(size: int, cluster: str) -> tuple[float, float]:
    """(create, destroy) seconds with `ip -batch`: one process for all namespaces, one for the
    node side, one per pod (a batch cannot switch namespace per line: `-n` is global)."""
    names = [f"{PREFIX}b{i}" for i in range(size)]
    steps = [ip_pod_steps(i, name) for i, name in enumerate(names)]
    script = ["ip -batch - <<'EOF'", *(f"netns add {n}" for n in names), "EOF"]
    script += [f"ip -n {SCRATCH_NODE} -batch - <<'EOF'", *(c for node_side, _ in steps for c in node_side), "EOF"]
    for name, (_, pod_side) in zip(names, steps):
        script += [f"ip -n {name} -batch - <<'EOF'", *pod_side, "EOF"]
    create = "\n".join(script) + "\n"
    destroy = "ip -batch - <<'EOF'\n" + "".join(f"netns del {n}\n" for n in names) + "EOF\n"
    settle(cluster)
    try:
        made = timed(lambda: run_script(create))
        check_plumbed(names[0], pod_ip(0))
        check_plumbed(names[-1], pod_ip(size - 1))
        return made, timed(lambda: run_script(destroy))
    finally:
        remove_scratch_pods()


def remove_scratch_pods() -> None:
    """Every `nlbench-*` pod namespace (both plumbings'), but not the scratch node."""
    for name in ns.list_netns():
        if name.startswith(PREFIX) and name != SCRATCH_NODE:
            sandbox.destroy(name)  # unpins the netns and, for netlab's, its UTS namespace too
    for name in ns.list_utsns():
        if name.startswith(PREFIX):
            ns.delete_ns_file(ns.utsns_path(name))


def remove_scratch() -> None:
    remove_scratch_pods()
    ns.delete_ns_file(ns.netns_path(SCRATCH_NODE))


# -- the benchmark: pods -----------------------------------------------------------------------

# The table's order: the CLI first, then each plumbing beside its baselines.
POD_ROWS = (
    Measurement("CLI start-up (netlab --version)"),
    Measurement("apply N pods (CLI)"),
    Measurement("delete N pods (CLI)"),
    Measurement("sandbox plumbing per pod (netlab)"),
    Measurement("sandbox plumbing per pod (ip commands)"),
    Measurement("sandbox plumbing per pod (ip -batch)"),
    Measurement("teardown per pod (netlab)"),
    Measurement("teardown per pod (ip commands)"),
    Measurement("teardown per pod (ip -batch)"),
)


def _pod_target(label: str, size: int) -> Target | None:
    if label == "sandbox plumbing per pod (netlab)":
        return Target(PLUMBING_TARGET_MS, per_pod=True)
    return None


def _apply_beside_ip(rows: list[Row]) -> list[Row]:
    """The apply row of APPLY_TARGET_SIZE pods judged against the `ip commands` plumbing of
    the same number of pods in the same run (its median), the ratio said beside it."""
    ip = {r.size: r.median_ms for r in rows if r.label.startswith("sandbox plumbing per pod (ip commands)")}
    judged = []
    for row in rows:
        if row.label.startswith("apply ") and row.size == APPLY_TARGET_SIZE and row.size in ip:
            base = ip[row.size]
            said = f"≤ {APPLY_TARGET_RATIO:g}× ip commands: {row.median_ms / base:.2f}×"
            row = replace(row, target=Target(APPLY_TARGET_RATIO * base, per_pod=False, said=said))
        judged.append(row)
    return judged


def pods_section(lab: LabSpec, sizes: Sequence[int], repeat: int, workdir: Path) -> list[Row]:
    samples = Samples()
    scratch_node_up()  # removed by main, also on failure
    for _ in range(repeat):
        samples.add("CLI start-up (netlab --version)", 1, timed(lambda: netlab("--version")))
    for size in sizes:
        manifest = workdir / f"pods-{size}.yaml"
        manifest.write_text(pods_manifest(size))
        for r in range(repeat):
            note(f"pods N={size}: run {r + 1}/{repeat}")
            cli_args = ("-f", str(manifest), "--cluster", lab.name)
            settle(lab.name)
            samples.add("apply N pods (CLI)", size, timed(lambda: netlab("apply", *cli_args)))
            check_running(lab.name, size)
            samples.add("delete N pods (CLI)", size, timed(lambda: netlab("delete", *cli_args)))
            check_gone(lab.name)
            if size > MAX_SCRATCH_PODS:
                continue  # the scratch node's /24 holds no more: the lab's own rows only
            for label, plumbing in (
                ("netlab", netlab_plumbing),
                ("ip commands", ip_plumbing),
                ("ip -batch", ip_batch_plumbing),
            ):
                made, removed = plumbing(size, lab.name)
                samples.add(f"sandbox plumbing per pod ({label})", size, made)
                samples.add(f"teardown per pod ({label})", size, removed)
    return _apply_beside_ip(samples.rows(POD_ROWS, _pod_target))


# -- reading the lab ---------------------------------------------------------------------------


def get_json(cluster: str, *args: str) -> dict:
    return json.loads(netlab("get", *args, "-o", "json", "--cluster", cluster).stdout)


def pod_ready(pod: dict) -> bool:
    statuses = pod.get("status", {}).get("containerStatuses") or [{"ready": False}]
    return pod.get("status", {}).get("phase") == "Running" and all(c.get("ready") for c in statuses)


def wait_ready(cluster: str, selector: str, count: int, deadline_s: float = 60.0) -> list[dict]:
    """The `count` pods of `selector` once all of them are Running and ready (and no others)."""
    found: list[dict] = []

    def settled() -> bool:
        nonlocal found
        found = get_json(cluster, "pods", "-l", selector)["items"]
        return len(found) == count and all(pod_ready(p) for p in found)

    wait_until(settled, f"{count} ready pods with {selector}", deadline_s)
    return found


def cluster_ip(cluster: str, service: str) -> str:
    return get_json(cluster, "svc", service)["spec"]["clusterIP"]


def node_ip(cluster: str, node: str) -> str:
    found = get_json(cluster, "nodes", node)
    return next(a["address"] for a in found["status"]["addresses"] if a["type"] == "InternalIP")


def in_netns(netns: str, *argv: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return run(["ip", "netns", "exec", netns, *argv], stdin=stdin)


def in_background(action: Callable[[], object]) -> Callable[[], float]:
    """Start `action` on a thread now; the function returned waits for it and gives its seconds
    (or raises its error), so a command can be timed while the main thread polls its effect."""
    outcome: dict[str, object] = {}

    def work() -> None:
        started = time.perf_counter()
        try:
            action()
        except BaseException as exc:  # handed to the caller of join
            outcome["error"] = exc
        outcome["seconds"] = time.perf_counter() - started

    thread = threading.Thread(target=work, daemon=True)
    thread.start()

    def join() -> float:
        thread.join(COMMAND_DEADLINE_S)
        if thread.is_alive():
            raise BenchError(f"a background command ran longer than {COMMAND_DEADLINE_S} s")
        if "error" in outcome:
            raise outcome["error"]  # type: ignore[misc]
        return outcome["seconds"]  # type: ignore[return-value]

    return join


def manifest_docs(*docs: str) -> str:
    return "---\n".join(textwrap.dedent(d).lstrip("\n") for d in docs)


def deployment(name: str, replicas: int, service_links: bool = True) -> str:
    # `nginx` runs netlab's built-in web server on port 80 (docs/images.md).
    links = "" if service_links else "enableServiceLinks: false, "
    return f"""
        apiVersion: apps/v1
        kind: Deployment
        metadata: {{name: {name}}}
        spec:
          replicas: {replicas}
          selector: {{matchLabels: {{app: {name}}}}}
          template:
            metadata: {{labels: {{app: {name}}}}}
            spec: {{{links}containers: [{{name: web, image: nginx}}]}}
        """


def service(name: str, app: str, node_port: int | None = None) -> str:
    port = f"{{port: 80, targetPort: 80, nodePort: {node_port}}}" if node_port else "{port: 80, targetPort: 80}"
    kind = "NodePort" if node_port else "ClusterIP"
    return f"""
        apiVersion: v1
        kind: Service
        metadata: {{name: {name}}}
        spec:
          type: {kind}
          selector: {{app: {app}}}
          ports: [{port}]
        """


def pinned_pod(name: str, node: str, image: str, command: str = "") -> str:
    return f"""
        apiVersion: v1
        kind: Pod
        metadata: {{name: {name}, labels: {{app: {name}}}}}
        spec:
          nodeName: {node}
          containers: [{{name: main, image: {image}{", command: " + command if command else ""}}}]
        """


def cleanup(what: str, *steps: Callable[[], object]) -> None:
    """Run every step even if one fails: a section's leftovers must not break the next one."""
    for step in steps:
        try:
            step()
        except BenchError as exc:
            note(f"warning: cleaning up {what}: {exc}")


# -- the benchmark: a node fails ---------------------------------------------------------------

FAILED_NODE = "node-b"
HEALTHY_NODE = "node-a"
REPLICAS = 3

NODE_FAILURE_ROWS = (
    Measurement("node fail → Service answered by a replacement pod", per=""),
    Measurement("  of which the client got no answer at all", per=""),
    Measurement("netlab node fail (the command alone)", per=""),
)


def place_replicas(cluster: str) -> set[str]:
    """All replicas of `web` on node-b, so the fire takes every endpoint of the Service: cordon
    node-a while scaling up (the scheduler would otherwise pick the node with fewest pods)."""
    netlab("node", "cordon", HEALTHY_NODE, "--cluster", cluster)
    try:
        netlab("scale", "deploy/web", "--replicas", str(REPLICAS), "--cluster", cluster)
        pods = wait_ready(cluster, "app=web", REPLICAS)
    finally:
        netlab("node", "uncordon", HEALTHY_NODE, "--cluster", cluster)
    misplaced = [p["metadata"]["name"] for p in pods if p["spec"].get("nodeName") != FAILED_NODE]
    if misplaced:
        raise BenchError(f"replicas not on {FAILED_NODE} although {HEALTHY_NODE} was cordoned: {misplaced}")
    return {p["metadata"]["name"] for p in pods}


def client_answered(client_netns: str, url: str) -> dict[str, str]:
    """One request from the client pod: the fields of the built-in web server's answer, or {}.

    Sent with curl in the client pod's namespace (`ip netns exec`, not `netlab exec`, whose 0.4 s
    CLI start-up would be the resolution of every poll). A SYN DNATed to a dead endpoint is
    never answered, so connecting gives up after 0.1 s (a live pod answers in well under a
    millisecond).
    """
    got = subprocess.run(
        ["ip", "netns", "exec", client_netns, "curl", "-s", "--connect-timeout", "0.1", "-m", "1", url],
        capture_output=True, text=True,
    )
    return dict(f.split("=", 1) for f in got.stdout.split() if "=" in f) if got.returncode == 0 else {}


def check_old_pods_answer(client_netns: str, url: str, old: set[str]) -> None:
    """The client must reach node-b's replicas before the fire: otherwise the measurement would
    start from a Service that was already down (e.g. a stale neighbour entry after a recover)."""
    started = time.monotonic()
    wait_until(lambda: client_answered(client_netns, url).get("pod") in old, "an answer from node-b's replicas", POLL_DEADLINE_S)
    if time.monotonic() - started > 1.0:
        note(f"warning: the client reached node-b's ready replicas only after {time.monotonic() - started:.1f} s")


def answer_from_replacement(client_netns: str, url: str, old: set[str], started: float) -> tuple[float, float]:
    """Seconds from `started` until the client gets an answer from a new pod on the healthy node,
    and the seconds before that in which it got no answer at all (since the last from an old pod).
    The resolution is a poll: about 30 ms, or 0.1 s for a request to a dead endpoint.
    """
    deadline = time.monotonic() + POLL_DEADLINE_S
    last_old = started
    while time.monotonic() < deadline:
        fields = client_answered(client_netns, url)
        answered = time.perf_counter()
        if fields.get("pod") in old:
            last_old = answered
        elif fields.get("node") == HEALTHY_NODE:
            return answered - started, answered - last_old
        time.sleep(0.02)
    raise BenchError(f"no answer from a replacement pod through {url} within {POLL_DEADLINE_S:g} s")


def node_failure_section(lab: LabSpec, repeat: int, workdir: Path) -> list[Row]:
    samples = Samples()
    cluster = lab.name
    manifest = workdir / "node-failure.yaml"
    manifest.write_text(
        manifest_docs(
            deployment("web", 0),  # scaled up per run, see place_replicas
            service("web", "web"),
            pinned_pod("client", HEALTHY_NODE, "curlimages/curl", '["sleep", "infinity"]'),
        )
    )
    failed = False
    netlab("apply", "-f", str(manifest), "--cluster", cluster)
    netlab("controller", "start", "--cluster", cluster)  # it runs already; this checks it
    try:
        wait_ready(cluster, "app=client", 1)
        url = f"http://{cluster_ip(cluster, 'web')}/"
        client_netns = f"{cluster}.default.client"
        for r in range(repeat):
            note(f"node failure: run {r + 1}/{repeat}")
            old = place_replicas(cluster)
            check_old_pods_answer(client_netns, url, old)
            started = time.perf_counter()
            failed = True
            fail = in_background(lambda: netlab("node", "fail", FAILED_NODE, "--cluster", cluster))
            answered, unanswered = answer_from_replacement(client_netns, url, old, started)
            samples.add(NODE_FAILURE_ROWS[0].label, REPLICAS, answered, f"{REPLICAS} of {REPLICAS} replicas lost")
            samples.add(NODE_FAILURE_ROWS[1].label, REPLICAS, unanswered)
            samples.add(NODE_FAILURE_ROWS[2].label, REPLICAS, fail())
            netlab("node", "recover", FAILED_NODE, "--cluster", cluster)
            failed = False
            netlab("scale", "deploy/web", "--replicas", "0", "--cluster", cluster)
            wait_ready(cluster, "app=web", 0)
    finally:
        cleanup(
            "the node-failure scenario",
            *([lambda: netlab("node", "recover", FAILED_NODE, "--cluster", cluster)] if failed else []),
            lambda: netlab("delete", "-f", str(manifest), "--ignore-not-found", "--cluster", cluster),
        )
    return samples.rows(NODE_FAILURE_ROWS)


# -- the benchmark: rules programming at N Services --------------------------------------------

RULES_ROWS = (
    Measurement("apply N Services + 2 Deployments (CLI, once)", per=""),
    Measurement("scale up → new endpoint's DNAT in node-a", per=""),
    Measurement("netlab scale up (the command alone)", per=""),
    Measurement("scale down → old endpoint's DNAT gone from node-a", per=""),
    Measurement("endpoint's container exits → its DNAT gone from node-a (no command)", per=""),
    Measurement("iptables-restore of node-a's rules alone (baseline)", per=""),
)


def victim_manifest(r: int) -> str:
    """A bare pod behind the `probe` Service that is not restarted: when its process dies,
    its endpoint goes for good, the change the control plane reacts to by itself."""
    return manifest_docs(
        f"""
        apiVersion: v1
        kind: Pod
        metadata: {{name: victim-{r}, labels: {{app: probe}}}}
        spec:
          nodeName: {FAILED_NODE}
          restartPolicy: Never
          enableServiceLinks: false
          containers: [{{name: web, image: nginx}}]
        """
    )


def rules_manifest(services: int) -> str:
    """`probe` (a Deployment and its Service) and services-1 Services that all select one
    `filler` pod, so every Service has an endpoint and its KUBE-SVC/KUBE-SEP chains. The pods
    leave out the Service variables, as one must on a real cluster with thousands of Services
    in a namespace: at 10,000 their environment is beyond what exec takes (E2BIG)."""
    return manifest_docs(
        deployment("filler", 1, service_links=False),
        deployment("probe", 1, service_links=False),
        service("probe", "probe"),
        *(service(f"fill-{i}", "filler") for i in range(services - 1)),
    )


@dataclass(frozen=True)
class ServiceRules:
    """Where one Service port's endpoints show in a node's rules, read as cheaply as the mode
    allows, so that a poll for a change is short beside what it measures: iptables, the
    endpoint (KUBE-SEP) chains its KUBE-SVC chain jumps to — one `iptables -t nat -S` of that
    chain, 3 ms at 1,000 Services, where an `iptables-save -t nat` takes 66 ms; the SVC jump and
    the SEP chain's DNAT come and go in one atomic restore. nftables, the DNAT targets of
    table ip kube-proxy."""

    netns: str
    mode: str
    service: str  # "namespace/name" (the port unnamed)

    def endpoints(self) -> set[str]:
        if self.mode == "iptables":
            chain = proxy_names.service_chain(self.service, "TCP")
            listed = subprocess.run(["nice", "-n", "19", "ip", "netns", "exec", self.netns, "iptables", "-w", "5", "-t", "nat", "-S", chain],
                                    text=True, capture_output=True).stdout  # no chain yet (no ready endpoint): empty
            return {line.rsplit(" ", 1)[1] for line in listed.splitlines() if line.startswith(f"-A {chain} ") and " -j KUBE-SEP-" in line}
        listed = subprocess.run(["nice", "-n", "19", "ip", "netns", "exec", self.netns, "nft", "list", "table", "ip", "kube-proxy"],
                                text=True, capture_output=True).stdout
        return set(re.findall(r" dnat to (\S+)", listed))

    def key(self, ip: str, port: int = 80) -> str:
        """How `endpoints()` names the endpoint ip:port."""
        if self.mode == "iptables":
            return proxy_names.endpoint_chain(self.service, "TCP", proxy_names.endpoint_string(ip, port))
        return f"{ip}:{port}"


def until_endpoints(rules: ServiceRules, done: Callable[[set[str]], bool], started: float, what: str) -> float:
    """Seconds since `started` until `done` holds for the node's endpoints, polled back to back
    (at nice 19, so the poll takes as little CPU from netlab as possible)."""
    deadline = time.monotonic() + POLL_DEADLINE_S
    while time.monotonic() < deadline:
        if done(rules.endpoints()):
            return time.perf_counter() - started
    raise BenchError(f"{what} not in {rules.netns}'s rules within {POLL_DEADLINE_S:g} s")


def last_sync(cluster: str, node: str) -> str:
    """How netlab's last rules sync of `node` went, from its RulesSynced event: a whole-table
    restore or kube-proxy's partial sync (`--noflush` with only the changed chains)."""
    lines = [line for line in netlab("events", "-A", "--cluster", cluster).stdout.splitlines()
             if "RulesSynced" in line and f"node/{node} " in line]
    if not lines:
        return ""
    message = lines[-1].split(f"node/{node}", 1)[1]
    took = re.search(r" in (\d+) ms", message)
    chains = re.search(r"(\d+) chains sent", message)
    how = f"--noflush, {chains.group(1)} chains" if "--noflush" in message and chains else "whole tables"
    return f"netlab's sync: {how}" + (f", {took.group(1)} ms" if took else "")


def wait_victim(cluster: str, r: int) -> str:
    """The victim pod's IP once it is ready."""
    pods = wait_ready(cluster, "app=probe", 2)
    return next(p["status"]["podIP"] for p in pods if p["metadata"]["name"] == f"victim-{r}")


def rules_section(lab: LabSpec, sizes: Sequence[int], repeat: int, workdir: Path) -> list[Row]:
    samples = Samples()
    cluster = lab.name
    node_netns = f"{cluster}.{HEALTHY_NODE}"
    probe = ServiceRules(node_netns, lab.kube_proxy_mode, "default/probe")
    for size in sizes:
        manifest = workdir / f"services-{size}.yaml"
        manifest.write_text(rules_manifest(size))
        note(f"rules N={size}: applying {size} Services ...")
        try:
            samples.add(RULES_ROWS[0].label, size, timed(lambda: netlab("apply", "-f", str(manifest), "--cluster", cluster)))
            wait_ready(cluster, "app in (filler,probe)", 2)
            for r in range(repeat):
                note(f"rules N={size}: run {r + 1}/{repeat}")
                before = probe.endpoints()
                started = time.perf_counter()
                scale = in_background(lambda: netlab("scale", "deploy/probe", "--replicas", "2", "--cluster", cluster))
                samples.add(
                    RULES_ROWS[1].label, size,
                    until_endpoints(probe, lambda now: bool(now - before), started, "the new endpoint's DNAT"),
                )
                samples.add(RULES_ROWS[2].label, size, scale())
                if r == repeat - 1:
                    samples.annotate(RULES_ROWS[1].label, size, last_sync(cluster, HEALTHY_NODE))
                started = time.perf_counter()
                scale = in_background(lambda: netlab("scale", "deploy/probe", "--replicas", "1", "--cluster", cluster))
                samples.add(
                    RULES_ROWS[3].label, size,
                    until_endpoints(probe, lambda now: len(now) == len(before), started, "one DNAT fewer"),
                )
                scale()
                if r == repeat - 1:
                    samples.annotate(RULES_ROWS[3].label, size, last_sync(cluster, HEALTHY_NODE))
                victim = workdir / f"victim-{size}-{r}.yaml"
                victim.write_text(victim_manifest(r))
                netlab("apply", "-f", str(victim), "--cluster", cluster)
                ip = wait_victim(cluster, r)
                until_endpoints(probe, lambda now: probe.key(ip) in now, time.perf_counter(), "the victim's DNAT")
                pid = stored_container(cluster, f"victim-{r}")["pid"]
                started = time.perf_counter()
                os.kill(pid, 9)
                samples.add(
                    RULES_ROWS[4].label, size,
                    until_endpoints(probe, lambda now: probe.key(ip) not in now, started, "the dead endpoint's DNAT gone"),
                )
                if r == repeat - 1:
                    samples.annotate(RULES_ROWS[4].label, size, last_sync(cluster, HEALTHY_NODE))
                netlab("delete", "-f", str(victim), "--cluster", cluster)
                # The baseline: the same tables, read back and loaded again in one restore, as a
                # whole-table sync does (netlab's first sync of a node, or any without partial sync).
                payload = in_netns(node_netns, "iptables-save").stdout
                rules = sum(line.startswith("-A ") for line in payload.splitlines())
                samples.add(
                    RULES_ROWS[5].label, size,
                    timed(lambda: in_netns(node_netns, "iptables-restore", "-w", "5", stdin=payload)),
                    f"{rules} rules",
                )
        finally:
            cleanup(f"{size} Services", lambda: netlab("delete", "-f", str(manifest), "--ignore-not-found", "--cluster", cluster))
    return samples.rows(RULES_ROWS)


# -- the benchmark: requests through a NodePort ------------------------------------------------

NODE_PORT = 30080



@dataclass(frozen=True)
class LoadPath:
    """Where one row's requests go: from a namespace (None: the host's) to an address."""

    netns: str | None
    host: str
    port: int


def http_get(path: LoadPath) -> float:
    """Seconds for one HTTP/1.0 GET on a new TCP connection (so each one crosses the DNAT anew),
    from connect to the server's close. The socket is made inside the path's namespace and
    keeps it; making it is not timed."""
    if path.netns is None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    else:
        with ns.entered(ns.netns_path(path.netns)):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    with sock:
        sock.settimeout(2.0)
        started = time.perf_counter()
        sock.connect((path.host, path.port))
        sock.sendall(f"GET / HTTP/1.0\r\nHost: {path.host}\r\n\r\n".encode())
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
        took = time.perf_counter() - started
    if not reply.startswith((b"HTTP/1.0 200", b"HTTP/1.1 200")):
        raise BenchError(f"GET http://{path.host}:{path.port}/: unexpected reply {reply[:80]!r}")
    return took


def interleaved_load(paths: Sequence[LoadPath], requests: int) -> list[float]:
    """Seconds spent on `requests` sequential GETs per path, the paths taking turns request by
    request, so load from other work on the machine falls on every path alike. Bounded in
    count and in time."""
    spent = [0.0] * len(paths)
    deadline = time.monotonic() + LOAD_LIMIT_S
    for i in range(requests):
        if time.monotonic() > deadline:
            raise BenchError(f"load: gave up after {i} rounds of requests, over {LOAD_LIMIT_S:g} s")
        for k, path in enumerate(paths):
            try:
                spent[k] += http_get(path)
            except OSError as exc:
                raise BenchError(f"GET http://{path.host}:{path.port}/ from {path.netns or 'the host'}: {exc}") from exc
    return spent


NODEPORT_ROWS = (
    Measurement("HTTP requests: host → node-a IP:NodePort (DNAT + SNAT)", per="request"),
    Measurement("HTTP requests: node-a → ClusterIP (DNAT)", per="request"),
    Measurement("HTTP requests: node-a → pod IP (no DNAT, baseline)", per="request"),
)


def nodeport_section(lab: LabSpec, repeat: int, requests: int, workdir: Path) -> list[Row]:
    samples = Samples()
    cluster = lab.name
    manifest = workdir / "nodeport.yaml"
    manifest.write_text(
        manifest_docs(pinned_pod("backend", HEALTHY_NODE, "nginx"), service("backend", "backend", NODE_PORT))
    )
    netlab("apply", "-f", str(manifest), "--cluster", cluster)
    try:
        (pod,) = wait_ready(cluster, "app=backend", 1)
        node_netns = f"{cluster}.{HEALTHY_NODE}"
        # The host cannot reach pod or cluster IPs (netlab's guard routes), so those two
        # clients connect from node-a's namespace: the same hop to the pod, with and without DNAT.
        paths = (
            LoadPath(None, node_ip(cluster, HEALTHY_NODE), NODE_PORT),
            LoadPath(node_netns, cluster_ip(cluster, "backend"), 80),
            LoadPath(node_netns, pod["status"]["podIP"], 80),
        )
        for r in range(repeat):
            note(f"nodeport: run {r + 1}/{repeat}")
            for row, seconds in zip(NODEPORT_ROWS, interleaved_load(paths, requests)):
                samples.add(row.label, requests, seconds)
    finally:
        cleanup("the NodePort backend", lambda: netlab("delete", "-f", str(manifest), "--ignore-not-found", "--cluster", cluster))
    return samples.rows(NODEPORT_ROWS)


# -- the benchmark: the ingress and the Gateway API ----------------------------------------------

INGRESS_ROWS = (
    Measurement("HTTP requests: host → ingress LB IP → nginx pod → backend pod", per="request"),
    Measurement("HTTP requests: host → Gateway LB IP → nginx pod → backend pod", per="request"),
    Measurement("HTTP requests: node-a → pod IP (no proxy, baseline)", per="request"),
    Measurement("Ingress change applied → first request routed by the new rule", per=""),
    Measurement("HTTPRoute change applied → first request routed by the new rule", per=""),
)


def _routes_manifest(run: int) -> str:
    """A host-less Ingress and HTTPRoute sending `/` to the backend, plus one new path per run."""
    return manifest_docs(f"""
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata: {{name: bench}}
        spec:
          rules:
            - http:
                paths:
                  - {{path: /, pathType: Prefix, backend: {{service: {{name: backend, port: {{number: 80}}}}}}}}
                  - {{path: /ing-{run}, pathType: Exact, backend: {{service: {{name: backend, port: {{number: 80}}}}}}}}
        """, """
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata: {name: bench}
        spec:
          gatewayClassName: nginx
          listeners: [{name: http, port: 80, protocol: HTTP}]
        """, f"""
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: {{name: bench}}
        spec:
          parentRefs: [{{name: bench}}]
          rules:
            - backendRefs: [{{name: backend, port: 80}}]
            - matches: [{{path: {{type: Exact, value: /gw-{run}}}}}]
              backendRefs: [{{name: backend, port: 80}}]
        """)


def _status_of(host: str, path: str) -> int:
    try:
        with socket.create_connection((host, 80), timeout=2) as sock:
            sock.sendall(f"GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
            head = sock.recv(64)
    except OSError:
        return 0
    return int(head.split()[1]) if head.startswith(b"HTTP/") else 0


def ingress_section(lab: LabSpec, repeat: int, requests: int, workdir: Path) -> list[Row]:
    samples = Samples()
    cluster = lab.name
    controllers = [REPO / "manifests" / "ingress" / "00-ingress-nginx.yaml", REPO / "manifests" / "gateway" / "00-nginx-gateway.yaml"]
    backend = workdir / "ingress-backend.yaml"
    backend.write_text(manifest_docs(pinned_pod("backend", HEALTHY_NODE, "nginx"), service("backend", "backend")))
    routes = workdir / "ingress-routes.yaml"
    routes.write_text(_routes_manifest(0))
    for manifest in (*controllers, backend, routes):
        netlab("apply", "-f", str(manifest), "--cluster", cluster)
    try:
        (pod,) = wait_ready(cluster, "app=backend", 1)

        def lb_ip(namespace: str, name: str) -> str:
            svc = json.loads(netlab("get", "svc", name, "-n", namespace, "-o", "json", "--cluster", cluster).stdout)
            return svc["status"]["loadBalancer"]["ingress"][0]["ip"]

        ingress_ip = lb_ip("ingress-nginx", "ingress-nginx-controller")
        gateway_ip = lb_ip("nginx-gateway", "nginx-gateway")
        for address in (ingress_ip, gateway_ip):
            wait_until(lambda a=address: _status_of(a, "/") == 200, f"nginx answering at {address}")
        paths = (
            LoadPath(None, ingress_ip, 80),
            LoadPath(None, gateway_ip, 80),
            LoadPath(f"{cluster}.{HEALTHY_NODE}", pod["status"]["podIP"], 80),
        )
        for r in range(repeat):
            note(f"ingress: run {r + 1}/{repeat}")
            for row, seconds in zip(INGRESS_ROWS, interleaved_load(paths, requests)):
                samples.add(row.label, requests, seconds)
            routes.write_text(_routes_manifest(r + 1))
            # One apply changes both; each is timed until its own new path answers.
            started = time.perf_counter()
            netlab("apply", "-f", str(routes), "--cluster", cluster)
            wait_until(lambda: _status_of(ingress_ip, f"/ing-{r + 1}") == 200, "the new Ingress path")
            samples.add(INGRESS_ROWS[3].label, 1, time.perf_counter() - started)
            wait_until(lambda: _status_of(gateway_ip, f"/gw-{r + 1}") == 200, "the new HTTPRoute path")
            samples.add(INGRESS_ROWS[4].label, 1, time.perf_counter() - started)
    finally:
        cleanup("the ingress benchmark", *(
            (lambda m=m: netlab("delete", "-f", str(m), "--ignore-not-found", "--cluster", cluster))
            for m in (routes, backend, *reversed(controllers))
        ))
    return samples.rows(INGRESS_ROWS)


# -- the benchmark: a live lab ------------------------------------------------------------------

LIVE_ROWS = (
    Measurement("fork + exec of a process (sh -c true), the baseline", per=""),
    Measurement("container killed → running again (no command)", per=""),
    Measurement("readiness probe fails → DNAT gone from node-a", per=""),
    Measurement("idle control plane (with its shim and warm CLI) of N pods: CPU seconds in 10 s", per=""),
)
RESTART_TARGET_MS = 1000.0  # the issue's: the first restart within 1 s of the exit
PROBE_PERIOD_S = 1
IDLE_WINDOW_S = 10.0  # the idle measurement's window (a measurement, not a synchronisation)
IDLE_TARGET = 0.01  # of one core


def _live_target(label: str, size: int) -> Target | None:
    if label.startswith("container killed"):
        return Target(RESTART_TARGET_MS, per_pod=False, said="< 1 s")
    if label.startswith("readiness probe"):
        return Target(PROBE_PERIOD_S * 1000 + 200, per_pod=False, said=f"< period ({PROBE_PERIOD_S} s) + 0.2 s")
    if label.startswith("idle control plane"):
        return Target(IDLE_TARGET * IDLE_WINDOW_S * 1000, per_pod=False, said="< 1 % of one core")
    return None


def stored_container(cluster: str, pod: str) -> dict:
    lab = labs.open_lab(cluster)
    try:
        found = lab.store.get("Pod", "default", pod)
        return (found.status.get("containers") or [{}])[0] if found else {}
    finally:
        lab.close()


def control_plane_ref(cluster: str):
    from netlab.lab import controlplane

    ref = controlplane.running(cluster)
    if ref is None:
        raise BenchError(f"the control plane of {cluster} does not run")
    return ref


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def helpers_of(pid: int) -> dict[str, int]:
    """The control plane's own processes beside it: its container shim and its warm CLI."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                parent = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except (FileNotFoundError, ProcessLookupError, ValueError):
            continue
        for module, name in ((b"netlab.kernel.spawner", "shim"), (b"netlab.lab.warmcli", "warm CLI")):
            if parent == pid and module in argv:
                found[name] = int(entry)
    return found


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        kib = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    return kib / 1024


def live_manifest(flag: Path, repeat: int) -> str:
    # A pod to crash per run: only a container's first restart is immediate, later ones wait
    # out kubelet's back-off (10 s, 20 s, ...).
    return manifest_docs(
        *(pinned_pod(f"live-crash-{r}", HEALTHY_NODE, PAUSE_IMAGE) for r in range(repeat)),
        f"""
        apiVersion: v1
        kind: Pod
        metadata: {{name: live-ready, labels: {{app: live-ready}}}}
        spec:
          nodeName: {HEALTHY_NODE}
          containers:
          - name: web
            image: nginx
            readinessProbe:
              exec: {{command: [test, -e, {flag}]}}
              periodSeconds: {PROBE_PERIOD_S}
              failureThreshold: 1
        """,
        service("live-ready", "live-ready"),
    )


def live_section(lab: LabSpec, pods: int, repeat: int, workdir: Path) -> list[Row]:
    """What the control plane does by itself: restart a killed container, withdraw an unready
    endpoint, and cost nothing when nothing happens."""
    samples = Samples()
    cluster = lab.name
    rules = ServiceRules(f"{cluster}.{HEALTHY_NODE}", lab.kube_proxy_mode, "default/live-ready")
    flag = workdir / "live-ready.flag"  # the pod's probe looks at the host's file system
    flag.touch()
    manifest = workdir / "live.yaml"
    manifest.write_text(live_manifest(flag, repeat))
    idle = workdir / f"idle-{pods}.yaml"
    idle.write_text(pods_manifest(pods))
    netlab("apply", "-f", str(manifest), "--cluster", cluster)
    try:
        wait_ready(cluster, "app in (live-ready," + ",".join(f"live-crash-{r}" for r in range(repeat)) + ")", repeat + 1)
        ready_ip = get_json(cluster, "pods", "live-ready")["status"]["podIP"]
        for r in range(repeat):
            note(f"live: run {r + 1}/{repeat}")
            samples.add(LIVE_ROWS[0].label, 1, timed(lambda: run(["sh", "-c", "true"])))
            crash = f"live-crash-{r}"
            old = stored_container(cluster, crash)
            started = time.perf_counter()
            os.kill(old["pid"], 9)
            deadline = time.monotonic() + POLL_DEADLINE_S
            while stored_container(cluster, crash).get("pid") in (old["pid"], None):
                if time.monotonic() > deadline:
                    raise BenchError("the killed container was not restarted")
            samples.add(LIVE_ROWS[1].label, 1, time.perf_counter() - started)
            until_endpoints(rules, lambda now: rules.key(ready_ip) in now, time.perf_counter(), "the ready pod's DNAT")
            started = time.perf_counter()
            flag.unlink()
            samples.add(LIVE_ROWS[2].label, 1, until_endpoints(rules, lambda now: rules.key(ready_ip) not in now, started, "the unready pod's DNAT gone"))
            flag.touch()
        netlab("delete", "-f", str(manifest), "--cluster", cluster)
        note(f"live: {pods} pods, then {IDLE_WINDOW_S:g} s of nothing")
        netlab("apply", "-f", str(idle), "--cluster", cluster)
        check_running(cluster, pods)
        ref = control_plane_ref(cluster)
        helpers = helpers_of(ref.pid)
        processes = [ref.pid, *helpers.values()]  # the CPU of all three, the memory of each
        windows = []
        for r in range(repeat):
            before = sum(cpu_seconds(pid) for pid in processes)
            time.sleep(IDLE_WINDOW_S)  # the window measured
            windows.append(sum(cpu_seconds(pid) for pid in processes) - before)
            samples.add(LIVE_ROWS[3].label, pods, windows[-1])
        share = statistics.median(windows) / IDLE_WINDOW_S * 100
        memory = ", ".join(f"{name} {rss_mib(pid):.0f}" for name, pid in helpers.items())
        samples.annotate(
            LIVE_ROWS[3].label, pods, f"{share:.2f} % of a core (median), {rss_mib(ref.pid):.0f} MiB resident ({memory} MiB beside it)"
        )
    finally:
        cleanup(
            "the live scenario",
            lambda: netlab("delete", "-f", str(manifest), "--ignore-not-found", "--cluster", cluster),
            lambda: netlab("delete", "-f", str(idle), "--ignore-not-found", "--cluster", cluster),
        )
    return samples.rows(LIVE_ROWS, _live_target)


# -- the benchmark: CLI start-up ---------------------------------------------------------------

CLI_TARGET_RATIO = 3.0  # the issue's: a command starts in under 3× a bare interpreter's start
CLI_BASELINE = "python -c pass (the same interpreter)"
MAX_GET_PODS = 200


def cli_commands(cluster: str | None, pods: int) -> list[tuple[str, int, tuple[str, ...]]]:
    """(row label, N, netlab arguments): the commands that answer at once, `get pods` and `exec`
    with a lab (exec runs `true` in one of the N pods: its own start is the fork and exec)."""
    commands = [("netlab --version", 1, ("--version",)), ("netlab --help", 1, ("--help",))]
    if cluster is not None:
        commands.append(("netlab get pods", pods, ("get", "pods", "--cluster", cluster)))
        commands.append(("netlab exec POD -- true", pods, ("exec", "--cluster", cluster, "bench-0", "--", "true")))
    return commands


def compile_bytecode() -> None:
    """Write netlab's bytecode, as pip does when it installs a package: with
    PYTHONDONTWRITEBYTECODE set and no __pycache__, every run would compile every module it
    imports, and the start-up rows would measure the compiler."""
    import compileall

    compileall.compile_dir(str(REPO / "netlab"), quiet=1)


def cli_section(cluster: str | None, pods: int, repeat: int, workdir: Path) -> list[Row]:
    """Each command right after a `python -c pass` (A B A B), so drift hits both alike; the
    baseline row is the median of every `pass` run, each command's note its ratio to it."""
    manifest = workdir / f"cli-pods-{pods}.yaml"
    if cluster is not None:
        manifest.write_text(pods_manifest(pods))
        note(f"cli: {pods} pods for get pods ...")
        netlab("apply", "-f", str(manifest), "--cluster", cluster)
        check_running(cluster, pods)
    compile_bytecode()
    commands = cli_commands(cluster, pods)
    baseline: list[float] = []
    seconds: dict[str, list[float]] = {label: [] for label, _, _ in commands}
    try:
        for r in range(repeat):
            note(f"cli: run {r + 1}/{repeat}")
            for label, _, args in commands:
                baseline.append(timed(lambda: run([sys.executable, "-c", "pass"])))
                seconds[label].append(timed(lambda: netlab(*args)))
    finally:
        if cluster is not None:
            cleanup("the pods of get pods", lambda: netlab("delete", "-f", str(manifest), "--ignore-not-found", "--cluster", cluster))
    base_ms = statistics.median(baseline) * 1000
    target = Target(CLI_TARGET_RATIO * base_ms, per_pod=False, said=f"< {CLI_TARGET_RATIO:g}× python -c pass")
    rows = [Row(CLI_BASELINE, 1, tuple(baseline), per="", note="the baseline")]
    for label, size, _ in commands:
        ratio = statistics.median(seconds[label]) * 1000 / base_ms
        rows.append(Row(label, size, tuple(seconds[label]), target, per="", note=f"{ratio:.1f}×"))
    return rows


# -- the benchmark -----------------------------------------------------------------------------

PARTS = ("pods", "node-failure", "rules", "nodeport", "ingress", "live", "cli", "sync")
DEFAULT_PARTS = PARTS[:-1]  # `sync` (kube-proxy's two modes, no lab) runs when asked for


def needs_lab(args: argparse.Namespace) -> bool:
    """Every part runs on the benchmark's own lab, but `cli` without `get pods` and `sync`."""
    return any(part not in ("cli", "sync") for part in args.only) or ("cli" in args.only and args.get_pods > 0)


def sync_section(args: argparse.Namespace) -> list[Row]:
    """kube-proxy's rules sync in each mode, side by side (scripts/bench_sync.py)."""
    import bench_sync

    modes = ("iptables", "nftables") if args.kube_proxy_mode == "both" else (args.kube_proxy_mode,)
    samples = Samples()
    note(f"sync: {', '.join(modes)} at {', '.join(map(str, args.sync_services))} Services ...")
    bench_sync.measure(modes, args.sync_services, args.repeat, samples.add)
    measurements = [Measurement(label, per="") for mode in modes for label in (
        f"{mode}: full sync of N Services (render + load)", f"{mode}: endpoint change at N Services → rules loaded",
        f"{mode}: {bench_sync.CONNECTIONS} TCP connections to the last of N Services")]
    rows = samples.rows(measurements)
    if len(modes) == 2:  # the target: nftables ≤ 0.3 s and ≤ 0.5× iptables at 10,000 Services
        ipt = {(r.label.split(": ", 1)[1], r.size): r for r in rows if r.label.startswith("iptables: ")}
        rows = [
            replace(r, note="; ".join(filter(None, (r.note, f"{r.median_ms / ipt[(r.label.split(': ', 1)[1], r.size)].median_ms:.2f}× iptables"))))
            if r.label.startswith("nftables: ") else r
            for r in rows
        ]
    return rows


def bench(lab: LabSpec, args: argparse.Namespace, workdir: Path) -> list[Row]:
    rows: list[Row] = []
    if "sync" in args.only:
        rows += sync_section(args)
    if not needs_lab(args):
        return rows + (cli_section(None, 0, args.repeat, workdir) if "cli" in args.only else [])
    config = workdir / "cluster.yaml"
    config.write_text(lab.config_yaml())
    note(f"creating cluster {lab.name} (pods {lab.pod_cidr}, services {lab.service_cidr}, "
         f"underlay {lab.underlay_cidr}) ...")
    netlab("cluster", "create", "--config", str(config))
    if "pods" in args.only:
        rows += pods_section(lab, args.sizes, args.repeat, workdir)
    if "node-failure" in args.only:
        rows += node_failure_section(lab, args.repeat, workdir)
    if "rules" in args.only:
        rows += rules_section(lab, args.services, args.repeat, workdir)
    if "nodeport" in args.only:
        rows += nodeport_section(lab, args.repeat, args.requests, workdir)
    if "ingress" in args.only:
        rows += ingress_section(lab, args.repeat, min(args.requests, 500), workdir)
    if "live" in args.only:
        rows += live_section(lab, args.idle_pods, args.repeat, workdir)
    if "cli" in args.only:
        rows += cli_section(lab.name if args.get_pods else None, args.get_pods, args.repeat, workdir)
    if args.keep and "pods" in args.only:
        # Last, so the kept pods disturbed none of the other parts.
        netlab("apply", "-f", str(workdir / f"pods-{max(args.sizes)}.yaml"), "--cluster", lab.name)
    return rows


# -- output ------------------------------------------------------------------------------------

HEADERS = ["measurement", "N", "total ms", "per pod ms | req/s", "target | note"]  # median / best
TEXT_COLUMNS = (0, 4)


def per_item_cell(row: Row) -> str:
    if row.per == "pod":
        return f"{row.per_pod(row.median_ms):.2f} / {row.per_pod(row.min_ms):.2f}"
    if row.per == "request":
        return f"{row.rate(row.median_ms):.0f} / {row.rate(row.min_ms):.0f} req/s"
    return ""


def table_cells(row: Row) -> list[str]:
    return [row.label, str(row.size), f"{row.median_ms:.1f} / {row.min_ms:.1f}", per_item_cell(row), row.verdict]


def print_table(rows: Sequence[Row], header: str) -> None:
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.table import Table

        table = Table(title=header, title_justify="left")
        for i, name in enumerate(HEADERS):
            # Figures never wrap; on a narrow terminal the measurement's name does.
            table.add_column(
                name,
                justify="left" if i in TEXT_COLUMNS else "right",
                no_wrap=i not in TEXT_COLUMNS,
                min_width=24 if i == 0 else None,
            )
        for row in rows:
            table.add_row(*table_cells(row))
        Console().print(table)
        return
    cells = [HEADERS] + [table_cells(r) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(HEADERS))]
    print(header)
    for line in cells:
        print(
            "  ".join(
                c.ljust(w) if i in TEXT_COLUMNS else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths))
            ).rstrip()
        )


def machine(load_before: float) -> dict:
    return {
        # Other work on the machine moves every figure; the 1-minute load average says how much.
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "kernel": os.uname().release,
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "ip": run(["ip", "-V"]).stdout.strip(),
    }


# -- main --------------------------------------------------------------------------------------


def _counts(parser: argparse.ArgumentParser, flag: str, text: str, low: int, high: int) -> list[int]:
    try:
        counts = sorted({int(c) for c in text.split(",") if c.strip()})
    except ValueError:
        parser.error(f"{flag}: expected comma-separated integers, got {text!r}")
    if not counts or not all(low <= c <= high for c in counts):
        parser.error(f"{flag}: each count must be between {low} and {high}")
    return counts


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=",".join(DEFAULT_PARTS), help=f"comma-separated parts to run, of {','.join(PARTS)} (default {','.join(DEFAULT_PARTS)})")
    parser.add_argument("--kube-proxy-mode", default="iptables", choices=("iptables", "nftables", "both"),
                        help="the lab's kube-proxy mode; `both`: the sync part measures both modes side by side (default iptables)")
    parser.add_argument("--sync-services", default="100,1000,10000", help="sync: comma-separated Service counts (default 100,1000,10000)")
    parser.add_argument("--sizes", default="10,100", help="pods: comma-separated pod counts (default 10,100; above 253 only apply and delete, e.g. --sizes 1000 --nodes 10)")
    parser.add_argument("--services", default="100,1000", help="rules: comma-separated Service counts (default 100,1000)")
    parser.add_argument("--requests", type=int, default=2000, help="nodeport: requests per run and path (default 2000)")
    parser.add_argument("--idle-pods", type=int, default=100, help="live: pods in the lab while the control plane idles (default 100)")
    parser.add_argument("--nodes", type=int, default=2, help="the lab's node count (default 2; e.g. --sizes 1000 --nodes 10)")
    parser.add_argument("--get-pods", type=int, default=100, help="cli: pods in the lab for `get pods` (default 100; 0: no lab, no root)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; median and min are reported")
    parser.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    parser.add_argument("--keep", action="store_true", help="leave the cluster, with the largest set of pods")
    parser.add_argument("--cluster", default="bench", help="the benchmark's own cluster name (default bench)")
    parser.add_argument("--pod-cidr", default="10.153.0.0/16")
    parser.add_argument("--service-cidr", default="10.154.0.0/16")
    parser.add_argument("--underlay-cidr", default="172.29.153.0/24")
    args = parser.parse_args(argv)
    args.only = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = [p for p in args.only if p not in PARTS]
    if unknown or not args.only:
        parser.error(f"--only: expected some of {', '.join(PARTS)}, got {unknown or 'nothing'}")
    args.sizes = _counts(parser, "--sizes", args.sizes, 1, MAX_LAB_PODS)
    args.services = _counts(parser, "--services", args.services, 1, MAX_SERVICES)
    args.sync_services = _counts(parser, "--sync-services", args.sync_services, 1, 20000)
    if args.kube_proxy_mode == "both" and set(args.only) - {"sync", "cli"}:
        parser.error("--kube-proxy-mode both compares the modes in the sync part only: add --only sync")
    if not 1 <= args.requests <= MAX_REQUESTS:
        parser.error(f"--requests must be between 1 and {MAX_REQUESTS}")
    if not 0 <= args.get_pods <= MAX_GET_PODS:
        parser.error(f"--get-pods must be between 0 and {MAX_GET_PODS}")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if not 2 <= args.nodes <= 26:
        parser.error("--nodes must be between 2 and 26")
    if not 1 <= args.idle_pods <= MAX_SCRATCH_PODS:
        parser.error(f"--idle-pods must be between 1 and {MAX_SCRATCH_PODS}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    with_lab = needs_lab(args)
    if with_lab and os.geteuid() != 0:
        note("bench.py must run as root: it builds a lab and network namespaces (only `--only cli --get-pods 0` does not)")
        return 4
    stale = [n for n in ns.list_netns() if n.startswith(PREFIX)] if with_lab else []
    if stale:
        note(f"namespaces from an earlier run exist ({', '.join(stale[:5])}); removing them")
        remove_scratch()
    mode = args.kube_proxy_mode if args.kube_proxy_mode != "both" else "iptables"
    lab = LabSpec(args.cluster, args.pod_cidr, args.service_cidr, args.underlay_cidr, args.nodes, mode)
    load_before = os.getloadavg()[0]
    if with_lab and labs.exists(lab.name):
        note(f"cluster {lab.name} already exists; choose another name with --cluster (it is not ours to remove)")
        return 4
    failed = True
    try:
        with tempfile.TemporaryDirectory(prefix=PREFIX) as tmp:
            rows = bench(lab, args, Path(tmp))
        failed = False
    except BenchError as exc:
        note(f"error: {exc}")
        return 1
    except KeyboardInterrupt:
        note("interrupted; removing what the benchmark made")
        return 130
    finally:
        if with_lab:
            remove_scratch()
        # Only a lab that exists: `cluster delete` of a name without state would also take the
        # host routes of labs kept under another state directory.
        if with_lab and (failed or not args.keep) and labs.exists(lab.name):
            try:
                netlab("cluster", "delete", "--name", lab.name)
            except BenchError as exc:
                note(f"warning: could not delete cluster {lab.name}: {exc}")
    info = machine(load_before)
    if args.json:
        print(json.dumps({"machine": info, "repeat": args.repeat, "rows": [r.to_json() for r in rows]}, indent=2))
    else:
        header = (
            f"netlab bench — {time.strftime('%Y-%m-%d')}, {info['cpus']} CPUs, kernel {info['kernel']}, "
            f"Python {info['python']}, {info['ip']}\n"
            f"load average {info['load_average'][0]:.1f} at the start, {info['load_average'][1]:.1f} at the end; "
            f"figures: median / min of {args.repeat} runs (for req/s: median / best)"
        )
        print_table(rows, header)
    missed = [r.label for r in rows if r.target_met is False]
    if missed:
        note(f"target missed: {', '.join(missed)}")
    if args.keep:
        note(f"kept cluster {lab.name}: netlab get pods --cluster {lab.name}; "
             f"remove it with netlab cluster delete --name {lab.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
