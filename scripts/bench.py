#!/usr/bin/env python3
"""How fast netlab builds and removes pods, beside plain `ip` doing the same plumbing.

Run as root from the repository:  python scripts/bench.py [--sizes 10,100] [--repeat 3] [--json]

For each size N it measures, R times each, interleaved so drift hits every row alike:

- `netlab apply -f` of N `pause` pods plus one ClusterIP Service, and `netlab delete -f` of
  the same file: whole CLI processes, wall clock until they return. After each apply every pod
  must be Running (`netlab get pods -o json`), or the run fails.
- the pod network plumbing alone, in-process with netlab's own library (`sandbox.create` and
  `sandbox.destroy` with one netlink socket on the node namespace, as reconcile does);
- the baseline: the same plumbing with plain `ip` commands from a shell script (8 processes per
  pod), and with `ip -batch` (about one process per pod), in a scratch node namespace with its
  own `cni0` bridge.

It prints median and minimum, per run and per pod, with a target column: the plumbing must cost
under 15 ms per pod, `apply` of 100 pods under 5 s (the issue's targets for a 2-core machine).
Everything it makes is removed at the end, also on failure: its cluster, and every namespace
named `nlbench-*`. `--keep` leaves the cluster, with the largest set of pods, for inspection.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Callable, Sequence

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from netlab import lab as labs  # noqa: E402
from netlab.kernel import ns  # noqa: E402
from netlab.kernel.netlink import Netlink  # noqa: E402
from netlab.node import sandbox  # noqa: E402
from netlab.topology import NodeNet  # noqa: E402

PAUSE_IMAGE = "registry.k8s.io/pause:3.9"
PLUMBING_TARGET_MS = 15.0  # per pod
APPLY_TARGET_MS = 5000.0  # for 100 pods
APPLY_TARGET_SIZE = 100

# The scratch "node" of the plumbing measurements: a namespace of its own, never routed from
# the host, so its addresses cannot clash with any lab.
PREFIX = "nlbench-"
SCRATCH_NODE = PREFIX + "node"
SCRATCH_SUBNET = IPv4Network("10.152.1.0/24")
SCRATCH_GATEWAY = SCRATCH_SUBNET.network_address + 1
SCRATCH_CLUSTER = PREFIX + "sb"  # netlab's sandboxes are named "nlbench-sb.plumb.pI"
MAX_SCRATCH_PODS = SCRATCH_SUBNET.num_addresses - 3


def note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# -- results -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    limit_ms: float
    per_pod: bool  # the limit applies to the per-pod figure, else to the total

    def met(self, total_ms: float, per_pod_ms: float) -> bool:
        return (per_pod_ms if self.per_pod else total_ms) < self.limit_ms

    def __str__(self) -> str:
        return f"< {self.limit_ms:g} ms/pod" if self.per_pod else f"< {self.limit_ms / 1000:g} s"


@dataclass(frozen=True)
class Row:
    label: str
    size: int
    seconds: tuple[float, ...]  # one sample per repeat
    target: Target | None = None

    @property
    def median_ms(self) -> float:
        return statistics.median(self.seconds) * 1000

    @property
    def min_ms(self) -> float:
        return min(self.seconds) * 1000

    def per_pod(self, total_ms: float) -> float:
        return total_ms / self.size

    @property
    def target_met(self) -> bool | None:
        """Judged on the median; None when the row has no target."""
        if self.target is None:
            return None
        return self.target.met(self.median_ms, self.per_pod(self.median_ms))

    @property
    def verdict(self) -> str:
        if self.target is None:
            return ""
        return f"{'✓' if self.target_met else '✗'} {self.target}"

    def to_json(self) -> dict:
        return {
            "measurement": self.label,
            "pods": self.size,
            "samples_ms": [round(s * 1000, 2) for s in self.seconds],
            "median_ms": round(self.median_ms, 2),
            "min_ms": round(self.min_ms, 2),
            "median_per_pod_ms": round(self.per_pod(self.median_ms), 3),
            "min_per_pod_ms": round(self.per_pod(self.min_ms), 3),
            "target": str(self.target) if self.target else None,
            "target_met": self.target_met,
        }


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

    def config_yaml(self) -> str:
        return (
            "apiVersion: netlab.dev/v1alpha1\n"
            "kind: Cluster\n"
            f"metadata:\n  name: {self.name}\n"
            f"spec:\n  podCIDR: {self.pod_cidr}\n  serviceCIDR: {self.service_cidr}\n"
            f"  underlayCIDR: {self.underlay_cidr}\n"
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


def settle() -> None:
    """Namespaces die asynchronously in the kernel; start each run from an empty bridge."""
    wait_until(lambda: not scratch_ports(), "the scratch node's cni0 to lose its ports")


def check_plumbed(netns: str, ip: IPv4Address) -> None:
    with Netlink(ns.netns_path(netns)) as pod:
        if [str(a.ip) for a in pod.addresses("eth0")] != [str(ip)]:
            raise BenchError(f"{netns}: eth0 does not carry {ip}")


def netlab_plumbing(size: int) -> tuple[float, float]:
    """(create, destroy) seconds for `size` sandboxes made by netlab's own library."""
    node = NodeNet(name=SCRATCH_NODE, index=0, subnet=SCRATCH_SUBNET, underlay_ip=SCRATCH_GATEWAY)
    boxes: list[sandbox.Sandbox] = []

    def create() -> None:
        with Netlink(ns.netns_path(SCRATCH_NODE)) as node_link:
            for i in range(size):
                name = f"p{i}"
                boxes.append(
                    sandbox.create(SCRATCH_CLUSTER, "plumb", name, str(uuid.uuid4()), name, node, node_link, pod_ip(i))
                )

    def destroy() -> None:
        for box in boxes:
            sandbox.destroy(box.netns)

    settle()
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


def ip_plumbing(size: int) -> tuple[float, float]:
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
    settle()
    try:
        made = timed(lambda: run_script(create))
        check_plumbed(names[0], pod_ip(0))
        check_plumbed(names[-1], pod_ip(size - 1))
        return made, timed(lambda: run_script(destroy))
    finally:
        remove_scratch_pods()


def ip_batch_plumbing(size: int) -> tuple[float, float]:
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
    settle()
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


# -- the benchmark -----------------------------------------------------------------------------


def bench(lab: LabSpec, sizes: Sequence[int], repeat: int, keep: bool, workdir: Path) -> list[Row]:
    samples: dict[tuple[str, int], list[float]] = {}

    def add(label: str, size: int, seconds: float) -> None:
        samples.setdefault((label, size), []).append(seconds)

    config = workdir / "cluster.yaml"
    config.write_text(lab.config_yaml())
    note(f"creating cluster {lab.name} (pods {lab.pod_cidr}, services {lab.service_cidr}, "
         f"underlay {lab.underlay_cidr}) ...")
    netlab("cluster", "create", "--config", str(config))
    scratch_node_up()

    for _ in range(repeat):
        add("CLI start-up (netlab --version)", 1, timed(lambda: netlab("--version")))
    for size in sizes:
        manifest = workdir / f"pods-{size}.yaml"
        manifest.write_text(pods_manifest(size))
        for r in range(repeat):
            note(f"N={size}: run {r + 1}/{repeat}")
            cli_args = ("-f", str(manifest), "--cluster", lab.name)
            add("apply N pods (CLI)", size, timed(lambda: netlab("apply", *cli_args)))
            check_running(lab.name, size)
            add("delete N pods (CLI)", size, timed(lambda: netlab("delete", *cli_args)))
            check_gone(lab.name)
            for label, plumbing in (
                ("netlab", netlab_plumbing),
                ("ip commands", ip_plumbing),
                ("ip -batch", ip_batch_plumbing),
            ):
                made, removed = plumbing(size)
                add(f"sandbox plumbing per pod ({label})", size, made)
                add(f"teardown per pod ({label})", size, removed)
    if keep:
        largest = workdir / f"pods-{max(sizes)}.yaml"
        netlab("apply", "-f", str(largest), "--cluster", lab.name)

    return [row for size in dict.fromkeys([1, *sizes]) for row in _rows(samples, size)]


# The table's order: the CLI first, then each plumbing beside its baselines.
LABELS = (
    "CLI start-up (netlab --version)",
    "apply N pods (CLI)",
    "delete N pods (CLI)",
    "sandbox plumbing per pod (netlab)",
    "sandbox plumbing per pod (ip commands)",
    "sandbox plumbing per pod (ip -batch)",
    "teardown per pod (netlab)",
    "teardown per pod (ip commands)",
    "teardown per pod (ip -batch)",
)


def _target(label: str, size: int) -> Target | None:
    if label == "sandbox plumbing per pod (netlab)":
        return Target(PLUMBING_TARGET_MS, per_pod=True)
    if label == "apply N pods (CLI)" and size == APPLY_TARGET_SIZE:
        return Target(APPLY_TARGET_MS, per_pod=False)
    return None


def _rows(samples: dict[tuple[str, int], list[float]], size: int) -> list[Row]:
    return [
        Row(label.replace(" N ", f" {size} "), size, tuple(samples[(label, size)]), _target(label, size))
        for label in LABELS
        if (label, size) in samples
    ]


# -- output ------------------------------------------------------------------------------------

HEADERS = ["measurement", "N", "total ms", "per pod ms", "target"]  # figures: median / min
TEXT_COLUMNS = (0, 4)


def table_cells(row: Row) -> list[str]:
    return [
        row.label,
        str(row.size),
        f"{row.median_ms:.1f} / {row.min_ms:.1f}",
        f"{row.per_pod(row.median_ms):.2f} / {row.per_pod(row.min_ms):.2f}",
        row.verdict,
    ]


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


def machine() -> dict:
    return {
        "kernel": os.uname().release,
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "ip": run(["ip", "-V"]).stdout.strip(),
    }


# -- main --------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10,100", help="comma-separated pod counts (default 10,100)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; median and min are reported")
    parser.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    parser.add_argument("--keep", action="store_true", help="leave the cluster, with the largest set of pods")
    parser.add_argument("--cluster", default="bench", help="the benchmark's own cluster name (default bench)")
    parser.add_argument("--pod-cidr", default="10.153.0.0/16")
    parser.add_argument("--service-cidr", default="10.154.0.0/16")
    parser.add_argument("--underlay-cidr", default="172.29.153.0/24")
    args = parser.parse_args(argv)
    try:
        args.sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    except ValueError:
        parser.error(f"--sizes: expected comma-separated integers, got {args.sizes!r}")
    if not args.sizes or not all(1 <= s <= MAX_SCRATCH_PODS for s in args.sizes):
        parser.error(f"--sizes: each size must be between 1 and {MAX_SCRATCH_PODS}")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if os.geteuid() != 0:
        note("bench.py must run as root: it builds a lab and network namespaces")
        return 4
    stale = [n for n in ns.list_netns() if n.startswith(PREFIX)]
    if stale:
        note(f"namespaces from an earlier run exist ({', '.join(stale[:5])}); removing them")
        remove_scratch()
    lab = LabSpec(args.cluster, args.pod_cidr, args.service_cidr, args.underlay_cidr)
    if labs.exists(lab.name):
        note(f"cluster {lab.name} already exists; choose another name with --cluster (it is not ours to remove)")
        return 4
    failed = True
    try:
        with tempfile.TemporaryDirectory(prefix=PREFIX) as tmp:
            rows = bench(lab, args.sizes, args.repeat, args.keep, Path(tmp))
        failed = False
    except BenchError as exc:
        note(f"error: {exc}")
        return 1
    except KeyboardInterrupt:
        note("interrupted; removing what the benchmark made")
        return 130
    finally:
        remove_scratch()
        # Only a lab that exists: `cluster delete` of a name without state would also take the
        # host routes of labs kept under another state directory.
        if (failed or not args.keep) and labs.exists(lab.name):
            try:
                netlab("cluster", "delete", "--name", lab.name)
            except BenchError as exc:
                note(f"warning: could not delete cluster {lab.name}: {exc}")
    info = machine()
    if args.json:
        print(json.dumps({"machine": info, "repeat": args.repeat, "rows": [r.to_json() for r in rows]}, indent=2))
    else:
        header = (
            f"netlab bench — {time.strftime('%Y-%m-%d')}, {info['cpus']} CPUs, kernel {info['kernel']}, "
            f"Python {info['python']}, {info['ip']}\n"
            f"figures: median / min of {args.repeat} runs"
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
