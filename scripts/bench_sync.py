"""kube-proxy's rules sync in each mode, side by side (the `sync` part of scripts/bench.py).

For N Services (each with two endpoints), in a scratch namespace per mode (`nlbench-sync-*`,
no lab): a full sync — render every Service and load the whole rule set (iptables-restore of
the nat and filter tables; one `nft -f` replacing table ip kube-proxy) — then an endpoint change
of one Service — render again, plan kube-proxy's partial sync against what was loaded, load
only the difference (`iptables-restore --noflush` of the changed chains; `nft -f` with the
changed chains and map elements). The same library calls netlab's kube-proxy step makes
(`proxy/sync.py`, `proxy/nftsync.py`), without the store and the control plane around them:
the inputs (ServicePortInfo objects) are built before the clock starts, in both modes alike.

Then, on the same loaded rules, the first-packet cost: short TCP connections (connect, close)
from the namespace to the cluster IP of the Service that comes last in iptables' KUBE-SERVICES
(`svc-{N-1}`), whose endpoints are addresses on the namespace's `lo` with a listening socket:
the nat OUTPUT hook looks the Service up — a walk over N rules in iptables mode, one map
lookup in nftables mode — and DNATs, per connection.
"""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace

from netlab.kernel import iptables, nft, ns
from netlab.proxy import Endpoint, ProxyConfig, ServicePortInfo
from netlab.proxy.nftables import render_nft
from netlab.proxy.nftpartial import plan_sync as plan_nft
from netlab.proxy.partial import plan_sync as plan_ipt
from netlab.proxy.render import render_rules

PREFIX = "nlbench-sync-"
CONFIG = ProxyConfig("10.152.0.0/16", node_name="node-a", node_ip="172.29.152.11", service_cidr="10.150.0.0/16")


def service_ports(n: int, changed: int = -1) -> list[ServicePortInfo]:
    """N Services with two endpoints each; Service `changed` has its second endpoint moved."""
    ports = []
    for i in range(n):
        a, b = divmod(i, 250)
        eps = (Endpoint(f"10.152.{1 + a % 200}.{2 + b}", 8080, "node-a"), Endpoint(f"10.152.{101 + a % 100}.{2 + b}", 8080, "node-b"))
        if i == changed:
            eps = (eps[0], Endpoint("10.152.250.250", 8080, "node-b"))
        ports.append(ServicePortInfo("bench", f"svc-{i}", "", "TCP", f"10.150.{i // 250}.{1 + i % 250}", 80, eps))
    return ports


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def iptables_round(path: str, n: int, change: int) -> tuple[float, float, int]:
    """(full sync s, endpoint-change sync s, chains sent by the partial sync)."""
    ports, changed = service_ports(n), service_ports(n, changed=change)
    holder: dict[str, object] = {}

    def full() -> None:
        payload = render_rules(ports, CONFIG)
        plan, chains = plan_ipt(payload, None)
        iptables.restore(path, plan.payload)
        holder["chains"] = chains

    def partial() -> None:
        payload = render_rules(changed, CONFIG)
        plan, _ = plan_ipt(payload, holder["chains"])
        iptables.restore(path, plan.payload, noflush=True)
        holder["sent"] = plan.chains_sent

    return _timed(full), _timed(partial), int(holder["sent"])


def nftables_round(path: str, n: int, change: int) -> tuple[float, float, int]:
    ports, changed = service_ports(n), service_ports(n, changed=change)
    holder: dict[str, object] = {}

    def full() -> None:
        plan, fp = plan_nft(render_nft(ports, CONFIG), None)
        nft.run(path, plan.script)
        holder["fp"] = fp

    def partial() -> None:
        plan, _ = plan_nft(render_nft(changed, CONFIG), holder["fp"])
        nft.run(path, plan.script)
        holder["sent"] = plan.chains_sent + plan.elements_sent

    return _timed(full), _timed(partial), int(holder["sent"])


ROUNDS = {"iptables": iptables_round, "nftables": nftables_round}
CONNECTIONS = 300


def first_packet(name: str, n: int, connections: int = CONNECTIONS) -> float:
    """Seconds for `connections` TCP connections to svc-{n-1}'s cluster IP, one after another."""
    target = service_ports(n)[n - 1]
    for argv in (["link", "set", "lo", "up"], ["route", "add", "10.150.0.0/16", "dev", "lo"],
                 *(["addr", "add", f"{e.ip}/32", "dev", "lo"] for e in target.endpoints)):  # fmt: skip
        subprocess.run(["ip", "-n", name, *argv], check=True, capture_output=True)
    path = ns.netns_path(name)
    with ns.entered(path):
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("0.0.0.0", 8080))
        server.listen(512)

    def accept() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            conn.close()

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        with ns.entered(path):
            started = time.perf_counter()
            for _ in range(connections):
                with socket.create_connection((target.cluster_ip, 80), timeout=2):
                    pass
            return time.perf_counter() - started
    finally:
        server.close()


def measure(modes: Sequence[str], sizes: Sequence[int], repeat: int, add: Callable[..., None]) -> None:
    """`add(label, size, seconds, note)` per sample; one scratch namespace per mode and run."""
    for size in sizes:
        for r in range(repeat):
            for mode in modes:
                name = f"{PREFIX}{mode[:3]}"
                ns.create_netns(name)
                try:
                    path = ns.netns_path(name)
                    full, partial, sent = ROUNDS[mode](path, size, change=size // 2)
                    connecting = first_packet(name, size)
                finally:
                    ns.delete_ns_file(ns.netns_path(name))
                add(f"{mode}: full sync of N Services (render + load)", size, full, "")
                add(f"{mode}: endpoint change at N Services → rules loaded", size, partial, f"{sent} chains/elements sent")
                add(f"{mode}: {CONNECTIONS} TCP connections to the last of N Services", size, connecting, "")
