#!/usr/bin/env python3
"""What each routing mode costs: host-gw routes, flannel's VXLAN overlay, Calico-style BGP.

Run as root from the repository:  python scripts/bench_routing.py [--modes host-gw,vxlan,bgp]
                                   [--seconds 3] [--requests 500] [--json]

For each mode it builds a two-node lab (`netlab cluster create --routing MODE`, timed: the lab
creation time per mode), puts pod a1 and a2 on node-a and b1 on node-b, and measures:

- throughput: TCP, one stream for --seconds, with iperf3 (server in the destination pod, client
  in the source pod) when iperf3 is installed; otherwise the time to push 64 MB through `nc`.
- latency: --requests short request/response exchanges, each a new TCP connection carrying a
  one-line HTTP/1.0 GET to the built-in web server (median and p99 per exchange), made from a
  Python process inside the source pod's namespace.

Each for the cross-node pair (a1 → b1: the crossing the mode decides) and, as baselines from the
same run, the same-node pair (a1 → a2: cni0 only, the same in every mode) and a bare veth pair
between two scratch namespaces (`nlbench-veth-*`, addressed inside the lab's own pod range).
Everything it makes is removed at the end, also on failure. Traffic goes only to the lab's
addresses, inside namespaces this script created.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from ipaddress import IPv4Network

MODES = ("host-gw", "vxlan", "bgp")
PORT = 8080  # the built-in web server's containerPort
IPERF_PORT = 5201
NC_PORT = 9100
NC_BYTES = 64 * 1024 * 1024
VETH_NS = ("nlbench-veth-a", "nlbench-veth-b")

PODS = """
apiVersion: v1
kind: Pod
metadata: {name: a1}
spec:
  nodeName: node-a
  containers: [{name: web, image: nginx, ports: [{containerPort: 8080}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: a2}
spec:
  nodeName: node-a
  containers: [{name: web, image: nginx, ports: [{containerPort: 8080}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: b1}
spec:
  nodeName: node-b
  containers: [{name: web, image: nginx, ports: [{containerPort: 8080}]}]
"""

# Run inside the source namespace: N sequential GETs, each on a new connection; prints the
# per-exchange times in microseconds as JSON.
LATENCY_CLIENT = r"""
import json, socket, sys, time
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
out = []
for _ in range(n):
    t = time.perf_counter()
    s = socket.create_connection((host, port), timeout=3)
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
    while s.recv(65536):
        pass
    s.close()
    out.append((time.perf_counter() - t) * 1e6)
print(json.dumps(out))
"""


def note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def run(argv: list[str], check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise SystemExit(f"`{' '.join(argv)}` exited {result.returncode}: {result.stderr.strip()}")
    return result


def netlab(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return run([sys.executable, "-m", "netlab", *args], check=check)


def taken_ranges() -> list[IPv4Network]:
    """The IPv4 ranges of every lab (a dual-stack lab lists `IPv4,IPv6`) and host route."""
    nets = []
    for line in netlab("cluster", "list").stdout.splitlines()[1:]:
        nets += [IPv4Network(p) for w in line.split() if "/" in w for p in w.split(",") if ":" not in p]
    for r in json.loads(run(["ip", "-j", "route", "show"]).stdout or "[]"):
        if r["dst"] != "default":
            nets.append(IPv4Network(r["dst"] if "/" in r["dst"] else r["dst"] + "/32", strict=False))
    return nets


def free_ranges() -> tuple[IPv4Network, IPv4Network, IPv4Network]:
    taken = taken_ranges()
    for k in random.sample(range(64), 64):
        mine = (IPv4Network(f"10.{112 + k}.0.0/16"), IPv4Network(f"10.{176 + k}.0.0/16"), IPv4Network(f"172.30.{k}.0/24"))
        if not any(a.overlaps(b) for a in mine for b in taken):
            return mine
    raise SystemExit("no free ranges for the benchmark lab")


def pod_ns(cluster: str, pod: str) -> str:
    return f"{cluster}.default.{pod}"


def pod_ip(cluster: str, pod: str) -> str:
    return json.loads(netlab("get", "pods", pod, "--cluster", cluster, "-o", "json").stdout)["status"]["podIP"]


def in_ns(ns: str, *argv: str, **kw) -> subprocess.CompletedProcess:
    return run(["ip", "netns", "exec", ns, *argv], **kw)


# -- measurements ----------------------------------------------------------------------------------


def throughput(server_ns: str, client_ns: str, address: str, seconds: float) -> tuple[float, str]:
    """(Gbit/s, tool) for one TCP stream from client_ns to address (in server_ns)."""
    if shutil.which("iperf3"):
        server = subprocess.Popen(["ip", "netns", "exec", server_ns, "iperf3", "-s", "-1", "-p", str(IPERF_PORT)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        try:
            for _ in range(50):
                result = in_ns(client_ns, "iperf3", "-c", address, "-p", str(IPERF_PORT), "-t", str(seconds), "-J", check=False)
                try:
                    received = json.loads(result.stdout)["end"]["sum_received"]
                    return received["bits_per_second"] / 1e9, "iperf3"
                except (ValueError, KeyError):
                    time.sleep(0.1)  # the server is not listening yet
            raise SystemExit(f"iperf3 to {address} failed: {result.stdout[-400:]}")
        finally:
            server.kill()
            server.wait()
    server = subprocess.Popen(["ip", "netns", "exec", server_ns, "sh", "-c", f"nc -l -p {NC_PORT} > /dev/null"])
    try:
        time.sleep(0.3)
        started = time.perf_counter()
        in_ns(client_ns, "sh", "-c", f"head -c {NC_BYTES} /dev/zero | nc -N {address} {NC_PORT}")
        server.wait(timeout=30)
        return NC_BYTES * 8 / (time.perf_counter() - started) / 1e9, "nc"
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def latency(client_ns: str, address: str, port: int, requests: int) -> tuple[float, float]:
    """(median, p99) microseconds per request/response exchange on a new connection."""
    result = in_ns(client_ns, sys.executable, "-c", LATENCY_CLIENT, address, str(port), str(requests), timeout=300)
    times = sorted(json.loads(result.stdout))
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.99))]


def veth_pair(pod_cidr: IPv4Network) -> str:
    """Two scratch namespaces joined by a bare veth, addressed from the lab's own pod range
    (its last /30, which no node uses); a one-line web server in the second. Its address."""
    net = list(pod_cidr.subnets(new_prefix=30))[-1]
    a, b = (str(h) for h in list(net.hosts())[:2])
    remove_veth_pair()
    for ns in VETH_NS:
        run(["ip", "netns", "add", ns])
        run(["ip", "-n", ns, "link", "set", "lo", "up"])
    run(["ip", "-n", VETH_NS[0], "link", "add", "bench0", "type", "veth", "peer", "name", "bench1", "netns", VETH_NS[1]])
    for ns, dev, ip in ((VETH_NS[0], "bench0", a), (VETH_NS[1], "bench1", b)):
        run(["ip", "-n", ns, "addr", "add", f"{ip}/30", "dev", dev])
        run(["ip", "-n", ns, "link", "set", dev, "up"])
    return b


def remove_veth_pair() -> None:
    for ns in VETH_NS:
        run(["ip", "netns", "pids", ns], check=False)  # nothing to kill: servers are waited for
        run(["ip", "netns", "delete", ns], check=False)


def veth_server(address: str) -> subprocess.Popen:
    code = (
        "import http.server as h\n"
        "class H(h.BaseHTTPRequestHandler):\n"
        "    def do_GET(s):\n"
        "        s.send_response(200); s.end_headers(); s.wfile.write(b'veth')\n"
        "    def log_message(s, *a): pass\n"
        f"h.HTTPServer(('{address}', {PORT}), H).serve_forever()\n"
    )
    server = subprocess.Popen(["ip", "netns", "exec", VETH_NS[1], sys.executable, "-c", code])
    time.sleep(0.5)
    return server


def wait_serving(client_ns: str, address: str, deadline_s: float = 20.0) -> None:
    deadline = time.monotonic() + deadline_s
    while in_ns(client_ns, "curl", "-s", "-m", "1", "-o", "/dev/null", f"http://{address}:{PORT}/", check=False).returncode != 0:
        if time.monotonic() > deadline:
            raise SystemExit(f"{address}:{PORT} does not answer from {client_ns}")
        time.sleep(0.1)


# -- the run ---------------------------------------------------------------------------------------


def measure_mode(mode: str, args, workdir: str) -> dict:
    pod, svc, underlay = free_ranges()
    name = f"nlbr{mode.replace('-', '')[:4]}{os.getpid() % 1000}"
    config = os.path.join(workdir, f"{name}.yaml")
    with open(config, "w") as f:
        f.write(
            f"apiVersion: netlab.dev/v1alpha1\nkind: Cluster\nmetadata: {{name: {name}}}\nspec:\n"
            f"  routing: {mode}\n  podCIDR: {pod}\n  serviceCIDR: {svc}\n  underlayCIDR: {underlay}\n"
        )
    started = time.perf_counter()
    netlab("cluster", "create", "--config", config)
    created = time.perf_counter() - started
    try:
        manifest = os.path.join(workdir, "pods.yaml")
        with open(manifest, "w") as f:
            f.write(PODS)
        netlab("apply", "--cluster", name, "-f", manifest)
        ips = {p: pod_ip(name, p) for p in ("a1", "a2", "b1")}
        for dst in ("a2", "b1"):  # the web servers answer (and, in bgp mode, the mesh routes)
            wait_serving(pod_ns(name, "a1"), ips[dst])
        row = {"mode": mode, "create_s": created}
        for label, dst in (("cross-node", "b1"), ("same-node", "a2")):
            gbps, tool = throughput(pod_ns(name, dst), pod_ns(name, "a1"), ips[dst], args.seconds)
            med, p99 = latency(pod_ns(name, "a1"), ips[dst], PORT, args.requests)
            row[label] = {"gbit_s": gbps, "tool": tool, "latency_median_us": med, "latency_p99_us": p99}
            note(f"  {mode:<8} {label:<11} {gbps:6.2f} Gbit/s ({tool})  {med:7.0f} µs median, {p99:7.0f} µs p99")
        if args.veth:
            address = veth_pair(pod)
            server = veth_server(address)
            try:
                gbps, tool = throughput(VETH_NS[1], VETH_NS[0], address, args.seconds)
                med, p99 = latency(VETH_NS[0], address, PORT, args.requests)
                row["bare-veth"] = {"gbit_s": gbps, "tool": tool, "latency_median_us": med, "latency_p99_us": p99}
                note(f"  {'':<8} {'bare veth':<11} {gbps:6.2f} Gbit/s ({tool})  {med:7.0f} µs median, {p99:7.0f} µs p99")
            finally:
                server.kill()
                server.wait()
                remove_veth_pair()
        return row
    finally:
        netlab("cluster", "delete", "--name", name, check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--seconds", type=float, default=3.0, help="iperf3 run length per pair")
    parser.add_argument("--requests", type=int, default=500, help="request/response exchanges per pair")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root (it builds labs)")
    modes = [m for m in args.modes.split(",") if m]
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        for i, mode in enumerate(modes):
            args.veth = i == 0  # the bare veth baseline once (it does not depend on the mode)
            note(f"{mode}: building a lab …")
            rows.append(measure_mode(mode, args, workdir))
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"{'mode':<9} {'pair':<11} {'Gbit/s':>7} {'median µs':>10} {'p99 µs':>8} {'create s':>9}")
    for row in rows:
        for label in ("cross-node", "same-node", "bare-veth"):
            if label in row:
                r = row[label]
                create = f"{row['create_s']:.2f}" if label == "cross-node" else ""
                print(f"{row['mode']:<9} {label:<11} {r['gbit_s']:7.2f} {r['latency_median_us']:10.0f} {r['latency_p99_us']:8.0f} {create:>9}")


if __name__ == "__main__":
    main()
