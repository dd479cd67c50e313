#!/usr/bin/env python3
"""What a second IP family costs: apply and delete of N pods in a dual-stack lab beside the
same in an IPv4-only lab, from the same run.

Run as root from the repository:  python scripts/bench_dualstack.py [--pods 100] [--repeat 3] [--json]

For each repeat it builds one two-node lab per family setting (`ipv4`, then `dual`, alternating
so machine load falls on both alike), applies N pause pods and a Service (`netlab apply` returns
once the sandboxes, rules and DNS reflect them), deletes them again, and removes the lab. Printed:
median and minimum of each, and the dual/ipv4 ratio. Every lab gets free ranges of its own; all
traffic stays inside them (the benchmark sends none).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from ipaddress import ip_network

FAMILIES = ("ipv4", "dual")


def note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def netlab(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "netlab", *args], capture_output=True, text=True, timeout=600)
    if check and result.returncode != 0:
        raise SystemExit(f"netlab {' '.join(args)} exited {result.returncode}: {result.stderr.strip()}")
    return result


def taken_ranges() -> list:
    nets = []
    for line in netlab("cluster", "list").stdout.splitlines()[1:]:
        nets += [ip_network(p) for w in line.split() if "/" in w for p in w.split(",")]
    for family in ("-4", "-6"):
        routes = subprocess.run(["ip", "-j", family, "route", "show"], capture_output=True, text=True).stdout
        for r in json.loads(routes or "[]"):
            if r["dst"] != "default":
                nets.append(ip_network(r["dst"] if "/" in r["dst"] else r["dst"] + ("/32" if family == "-4" else "/128"), strict=False))
    return nets


def config(name: str, family: str) -> str:
    taken = taken_ranges()
    for k in random.sample(range(64), 64):
        v4 = (f"10.{112 + k}.0.0/16", f"10.{176 + k}.0.0/16", f"172.30.{k}.0/24")
        v6 = (f"fd00:70:{k:x}::/56", f"fd00:71:{k:x}::/112", f"fd00:72:{k:x}::/64")
        mine = [ip_network(n) for n in (*v4, *v6)]
        if not any(a.version == b.version and a.overlaps(b) for a in mine for b in taken):
            ranges = [f"{a},{b}" if family == "dual" else a for a, b in zip(v4, v6)]
            return (
                f"apiVersion: netlab.dev/v1alpha1\nkind: Cluster\nmetadata: {{name: {name}}}\nspec:\n"
                f"  ipFamily: {family}\n  podCIDR: {ranges[0]}\n  serviceCIDR: {ranges[1]}\n  underlayCIDR: {ranges[2]}\n"
            )
    raise SystemExit("no free ranges for the benchmark lab")


def manifest(pods: int) -> str:
    docs = ["apiVersion: v1\nkind: Service\nmetadata: {name: bench}\nspec:\n  ipFamilyPolicy: PreferDualStack\n"
            "  selector: {app: bench}\n  ports: [{port: 80, targetPort: 8080}]\n"]
    docs += [
        f"apiVersion: v1\nkind: Pod\nmetadata: {{name: bench-{i}, labels: {{app: bench}}}}\n"
        "spec:\n  containers: [{name: pause, image: registry.k8s.io/pause:3.9}]\n"
        for i in range(pods)
    ]
    return "---\n".join(docs)


def measure(family: str, pods: int, workdir: str) -> tuple[float, float]:
    """(apply seconds, delete seconds) in a fresh lab of `family`."""
    name = f"nlds{family[:2]}{os.getpid() % 1000}"
    path = os.path.join(workdir, f"{name}.yaml")
    with open(path, "w") as f:
        f.write(config(name, family))
    netlab("cluster", "create", "--config", path)
    try:
        pods_file = os.path.join(workdir, "pods.yaml")
        with open(pods_file, "w") as f:
            f.write(manifest(pods))
        started = time.perf_counter()
        netlab("apply", "--cluster", name, "-f", pods_file)
        applied = time.perf_counter() - started
        started = time.perf_counter()
        netlab("delete", "--cluster", name, "-f", pods_file)
        deleted = time.perf_counter() - started
        return applied, deleted
    finally:
        netlab("cluster", "delete", "--name", name, check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root (it builds labs)")
    times: dict[str, dict[str, list[float]]] = {f: {"apply": [], "delete": []} for f in FAMILIES}
    with tempfile.TemporaryDirectory() as workdir:
        for i in range(args.repeat):
            for family in FAMILIES if i % 2 == 0 else reversed(FAMILIES):
                applied, deleted = measure(family, args.pods, workdir)
                times[family]["apply"].append(applied)
                times[family]["delete"].append(deleted)
                note(f"  run {i + 1} {family:<5} apply {applied:6.2f} s  delete {deleted:6.2f} s")
    if args.json:
        print(json.dumps({"pods": args.pods, "times": times}, indent=2))
        return
    print(f"{args.pods} pause pods + a Service, 2 nodes, {args.repeat} runs each (median / min, seconds)")
    print(f"{'step':<7} {'ipv4':>15} {'dual':>15} {'dual/ipv4':>10}")
    for step in ("apply", "delete"):
        v4, ds = times["ipv4"][step], times["dual"][step]
        print(
            f"{step:<7} {statistics.median(v4):7.2f} / {min(v4):5.2f} {statistics.median(ds):7.2f} / {min(ds):5.2f} "
            f"{statistics.median(ds) / statistics.median(v4):9.2f}×"
        )


if __name__ == "__main__":
    main()
