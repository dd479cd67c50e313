#!/usr/bin/env python3
"""Write docs/service-types/*.md from a real run: one page per Service type (seed article 001).

Run as root from the repository:  python scripts/gen-service-docs.py [--out docs/service-types]

It creates a lab of its own (cluster `svcdocs`, on the default ranges when they are free, else
on the first free 172.30.x underlay), applies `manifests/service-types/`, runs the commands each
page shows — `netlab get/describe`, `curl` from the host to node and load-balancer addresses,
`dig` and `curl` from a pod, `iptables-save` in a node — and writes their real output into the
pages. Then it deletes the lab, also on failure or when stopped (Ctrl-C, SIGTERM, SIGHUP); a
`svcdocs` cluster that exists already (another run's) is left alone and the script stops.
Nothing on the pages is typed by hand except the prose around the outputs.
"""

from __future__ import annotations

import argparse
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from ipaddress import IPv4Network
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MANIFESTS = REPO / "manifests" / "service-types"
CLUSTER = "svcdocs"
# (pod, service, underlay) candidates: the defaults first, so the pages show the addresses a
# reader of the README sees; else ranges clear of them.
CANDIDATES = [("10.244.0.0/16", "10.96.0.0/12", "172.31.255.0/24")] + [
    (f"10.{112 + k}.0.0/16", f"10.{176 + k}.0.0/16", f"172.30.{k}.0/24") for k in range(40, 64)
]


@dataclass(frozen=True)
class Lab:
    underlay: IPv4Network

    def node_ip(self, index: int) -> str:
        return str(self.underlay.network_address + 11 + index)


def run(*argv: str, check: bool = True) -> str:
    result = subprocess.run(list(argv), capture_output=True, text=True, timeout=60, cwd=REPO)
    if check and result.returncode != 0:
        raise SystemExit(f"`{' '.join(argv)}` exited {result.returncode}:\n{result.stderr}")
    return result.stdout


def netlab(*args: str, check: bool = True) -> str:
    return run(sys.executable, "-m", "netlab", *args, check=check)


def in_lab(command: str, *args: str) -> str:
    """`netlab COMMAND --cluster svcdocs ARGS` (the option goes first: exec takes none after the pod)."""
    return netlab(command, "--cluster", CLUSTER, *args)


class ClusterTaken(Exception):
    """A cluster of our name exists already: another run's, or one left behind; not ours to delete."""


def create_lab(workdir: Path) -> Lab:
    for pods, services, underlay in CANDIDATES:
        config = workdir / "cluster.yaml"
        config.write_text(
            f"apiVersion: netlab.dev/v1alpha1\nkind: Cluster\nmetadata: {{name: {CLUSTER}}}\n"
            f"spec: {{podCIDR: {pods}, serviceCIDR: {services}, underlayCIDR: {underlay}}}\n"
        )
        result = subprocess.run(
            [sys.executable, "-m", "netlab", "cluster", "create", "--config", str(config)], capture_output=True, text=True
        )
        if result.returncode == 0:
            return Lab(IPv4Network(underlay))
        if "already exists" in result.stderr:
            raise ClusterTaken(result.stderr.strip())
        if "overlaps" not in result.stderr:
            raise SystemExit(result.stderr)
    raise SystemExit("no free ranges for the docs lab")


def delete_lab() -> bool:
    """`netlab cluster delete`, shielded from Ctrl-C and SIGTERM so a second signal cannot leave
    half a lab behind; says on stderr what to run when it fails."""
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        result = subprocess.run(
            [sys.executable, "-m", "netlab", "cluster", "delete", "--name", CLUSTER], capture_output=True, text=True, cwd=REPO
        )
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if result.returncode != 0 or "warning:" in result.stderr:
        print(f"could not delete the docs lab cleanly; run: sudo netlab cluster delete --name {CLUSTER}", file=sys.stderr)
        print(result.stderr, file=sys.stderr)
        return False
    return True


def exit_on_signal(signum: int, _frame: object) -> None:
    # SIGTERM/SIGHUP kill Python without running `finally`; as SystemExit they let main delete the lab.
    raise SystemExit(128 + signum)


class Transcript:
    """Commands as a reader types them (`sudo netlab ...`, without --cluster) with real output."""

    def __init__(self) -> None:
        self.blocks: list[str] = []

    def netlab(self, *args: str) -> str:
        out = in_lab(*args)
        self.blocks.append(f"$ sudo netlab {' '.join(args)}\n{out.rstrip()}")
        return out

    def host(self, *argv: str) -> str:
        """A command on the host (curl to the lab's addresses, ip), with its errors and exit code."""
        result = subprocess.run(list(argv), capture_output=True, text=True, timeout=60, cwd=REPO)
        shown = (result.stdout + result.stderr).rstrip()
        if result.returncode != 0:
            shown += f"\n$ echo $?\n{result.returncode}"
        self.blocks.append(f"$ {' '.join(argv)}\n{shown}")
        return result.stdout

    def text(self) -> str:
        blocks, self.blocks = self.blocks, []
        return "```console\n" + "\n".join(blocks) + "\n```"


def iptables_excerpt(node_netns: str, service: str, extra: tuple[str, ...] = ()) -> str:
    """The nat rules of one Service in a node: every rule mentioning it, and every rule of the
    chains those rules jump to (KUBE-EXT/FW/SVC/SVL/SEP), in iptables-save's own order."""
    saved = run("ip", "netns", "exec", node_netns, "iptables-save", "-t", "nat")
    lines = [line for line in saved.splitlines() if line.startswith("-A ")]
    mine = [line for line in lines if f"default/{service}" in line or any(e in line for e in extra)]
    chains = {c for line in mine for c in re.findall(r"KUBE-(?:EXT|FW|SVC|SVL|SEP)-[A-Z0-9]+", line)}
    picked = [line for line in lines if line in mine or line.split()[1] in chains]
    return "```\n$ sudo ip netns exec " + node_netns + " iptables-save -t nat | grep …\n" + "\n".join(picked) + "\n```"


def wait_ready(lab_pods: tuple[str, ...]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        out = in_lab("get", "pods")
        if all(re.search(rf"^{p}\s+1/1\s+Running", out, re.M) for p in lab_pods):
            return
        time.sleep(0.2)
    raise SystemExit("pods did not become Running:\n" + out)


HEADER = """<!-- generated by scripts/gen-service-docs.py — do not edit by hand; run it again -->
> The command output and `iptables-save` excerpts on this page are real: `scripts/gen-service-docs.py`
> captured them from a lab it built (cluster `{cluster}`, underlay `{underlay}`). On the default
> cluster (`netlab`, underlay `172.31.255.0/24`) you get the same results with other addresses.
"""


def page(title: str, lab: Lab, body: str) -> str:
    return f"# {title}\n\n" + HEADER.format(cluster=CLUSTER, underlay=lab.underlay) + "\n" + body.strip() + "\n"


def generate(lab: Lab) -> dict[str, str]:
    t = Transcript()
    node_a = f"{CLUSTER}.node-a"
    pages = {}

    t.netlab("apply", "-f", str(MANIFESTS.relative_to(REPO)) + "/")
    wait_ready(("web-1", "web-2", "pod-b"))
    apply_run = t.text()

    # --- ClusterIP ---
    t.netlab("get", "pods", "-o", "wide")
    t.netlab("get", "svc", "web-clusterip")
    cluster_ip = in_lab("get", "svc", "web-clusterip", "-o", "json")
    ip = re.search(r'"clusterIP": "([\d.]+)"', cluster_ip).group(1)
    t.netlab("exec", "pod-b", "--", "curl", "-s", "web-clusterip")
    t.host("curl", "-sS", "-m", "2", f"http://{ip}")
    clusterip_run = t.text()
    pages["clusterip.md"] = page("ClusterIP — a stable IP that works only inside the cluster", lab, f"""
## Concept

A pod can die at any time, and the pod that replaces it gets a new IP (seed article 001's
example: node B catches fire, and pod C comes back on node A with another address). A ClusterIP
Service puts **one virtual IP that never changes** in front of all the pods that match its
selector. The IP is valid only inside the cluster (in pods and on nodes): no interface anywhere
owns it. The iptables rules kube-proxy installs on every node rewrite the destination to a pod IP
(DNAT), and that is all. So from outside the cluster (here: the host) the IP cannot be reached.

## Try it

{apply_run}

{clusterip_run}

The `curl` from the host fails, and that is exactly what ClusterIP means: the host has only an
`unreachable` route for the service range, so the packet never leaves the host.

## The rules kube-proxy wrote (node-a)

{iptables_excerpt(node_a, "web-clusterip")}

- `KUBE-SERVICES` matches the cluster IP on port 80 and jumps to `KUBE-SVC-…`.
- `KUBE-SVC-…` picks one of the two endpoints with `-m statistic --mode random --probability 0.5`.
- `KUBE-SEP-…` does the `DNAT --to-destination <pod IP>:8080`.
- `KUBE-MARK-MASQ` marks what must be SNATed on its way out: traffic to the cluster IP that does
  not come from a pod (`! -s <pod CIDR>`, from the node itself for example), and a pod reaching
  itself through the Service (the `-s <pod IP>` rule in its `KUBE-SEP-…`: hairpin traffic).
""")

    # --- NodePort ---
    t.netlab("get", "svc", "web-nodeport")
    for i in range(2):
        t.host("curl", "-s", f"http://{lab.node_ip(i)}:30080")
    t.netlab("exec", "pod-b", "--", "curl", "-s", f"http://{lab.node_ip(0)}:30080")
    nodeport_run = t.text()
    pages["nodeport.md"] = page("NodePort — the same port on every node", lab, f"""
## Concept

A NodePort Service opens the same port on **every node** of the cluster (by default from the range
30000–32767; here `nodePort: 30080`). Seed article 001 compares it to port forwarding: the Service
borrows the nodes' IPs to reach the outside world. Whichever node the traffic enters on, it is
delivered to the Service's pods, even when they run on another node.

The drawbacks are visible too: clients must know a node's IP, and when that node dies (imagine
one of the two nodes in the `curl` lines below is gone) its address no longer answers. There is
no load balancing between the nodes either.

## Try it

The host plays the client outside the cluster. It is attached to the lab's underlay by one veth,
so it can reach both node IPs (`{lab.node_ip(0)}` and `{lab.node_ip(1)}`).

{nodeport_run}

Look at the `client=` values: none of them is the address the request came from (the host's is
`{lab.underlay.network_address + 1}`). The node that received the request SNATs it: to its
underlay address when the pod is on another node, to its `cni0` address when the pod is on the
same node. This makes sure the reply goes back through that node; losing the original client IP
is the price of `externalTrafficPolicy: Cluster` (the default).
With `externalTrafficPolicy: Local` the receiving node uses only its own pods (and drops the
traffic when it has none), and the client IP is kept (the `KUBE-SVL-…` chain).

## The rules kube-proxy wrote (node-a)

{iptables_excerpt(node_a, "web-nodeport", extra=("kubernetes service nodeports",))}

- The last rule of `KUBE-SERVICES` sends traffic addressed to the node itself (`--dst-type LOCAL`)
  to `KUBE-NODEPORTS`.
- `KUBE-NODEPORTS` sends `--dport 30080` to `KUBE-EXT-…`.
- `KUBE-EXT-…` marks the packet for SNAT (`KUBE-MARK-MASQ`) and hands it to the same `KUBE-SVC-…`
  chain a ClusterIP Service uses: internally, a NodePort Service is a ClusterIP Service.
""")

    # --- LoadBalancer ---
    lb = in_lab("get", "svc", "web-lb", "-o", "json")
    lb_ip = re.search(r'"ip": "([\d.]+)"', lb).group(1)
    t.netlab("get", "svc", "web-lb")
    t.host("curl", "-s", f"http://{lb_ip}")
    t.host("curl", "-s", f"http://{lb_ip}")
    lb_run = t.text()
    t.netlab("describe", "svc", "web-lb")
    describe_run = t.text()
    owner = re.search(r"announced by (\S+):", describe_run).group(1)
    t.host("ip", "-n", f"{CLUSTER}.{owner}", "-br", "addr", "show", "eth0")
    t.host("ip", "neigh", "show", lb_ip)
    arp_run = t.text()
    pages["loadbalancer.md"] = page("LoadBalancer — one external IP for the Service (MetalLB L2)", lab, f"""
## Concept

A LoadBalancer Service makes up for NodePort's drawbacks: it gives the Service **one stable IP**
that clients outside the cluster use, and sends the traffic arriving there to the nodes. In a
cloud an external load balancer does this; on bare metal, software such as MetalLB does. netlab
reproduces MetalLB's L2 mode:

- It hands out an address from the Cluster config's `loadBalancerPool` (by default .200–.250 of
  the underlay /24); `loadBalancerIP` picks one. It shows in the EXTERNAL-IP column of `get svc`.
- For each address **one node** is elected (the first node in the order of
  `sha256(node + "#" + IP)`). That node adds the address to its `eth0` as a `/32` and answers ARP
  for it. When the node disappears, another node takes the address over at the next reconcile and
  sends a gratuitous ARP.
- On the node, the kube-proxy rules (`KUBE-EXT-…`) send the packets to a pod, exactly as for a
  NodePort.

## Try it

{lb_run}

Every request enters through the one node that announces the address (`describe` shows which) and
goes on to either pod, SNATed as on the [NodePort](nodeport.md) page.

{describe_run}

The elected node holds the address, and the host's ARP table has that node's MAC address for it:

{arp_run}

With `spec.loadBalancerSourceRanges`, a `KUBE-FW-…` chain lets only those ranges through and
`KUBE-PROXY-FIREWALL` drops the rest. `spec.externalIPs` (only addresses inside the underlay and
outside the pool are accepted) work the same way: one node announces each of them and
`KUBE-EXT-…` forwards the traffic.

## The rules kube-proxy wrote (node-a)

{iptables_excerpt(node_a, "web-lb")}

- `KUBE-SERVICES` sends the load-balancer IP on port 80 to `KUBE-EXT-…` (the cluster IP rule is
  still there).
- As seed article 001 says, a LoadBalancer Service builds on a NodePort one: it gets a node port
  too (`KUBE-NODEPORTS`), for external load balancers that send traffic to the nodes' node port.
  Traffic to the load-balancer IP itself skips it and goes straight to `KUBE-EXT-…`, as in
  kube-proxy.
""")

    # --- ExternalName ---
    t.netlab("get", "svc", "db-external")
    t.netlab("exec", "pod-b", "--", "dig", "+noall", "+answer", "db-external.default.svc.cluster.local")
    ext_run = t.text()
    rules = run("ip", "netns", "exec", node_a, "iptables-save")
    mentions = [line for line in rules.splitlines() if "db-external" in line]
    pages["externalname.md"] = page("ExternalName — a name for something outside the cluster", lab, f"""
## Concept

The other three types open a way **into** the pods. ExternalName goes the other way: it lets pods
reach something **outside** the cluster (a managed database, say) through a name inside it. All it does
is make the cluster DNS answer the Service's name with a CNAME pointing to `externalName`. There
is no cluster IP, no endpoint and no iptables rule.

## Try it

{ext_run}

netlab does not resolve the name behind the CNAME (`db.example.com`): its DNS server never
forwards a query outside the cluster domain (it answers REFUSED). In a real cluster, CoreDNS
would ask the upstream DNS servers.

## The rules kube-proxy wrote

Lines mentioning `db-external` in node-a's whole `iptables-save` output: {len(mentions)}.
kube-proxy skips ExternalName Services (`ShouldSkipService`).
""")
    pages["README.md"] = """# Service types (seed article 001)

<!-- generated by scripts/gen-service-docs.py — do not edit by hand; run it again -->
The four Service types of seed article 001, one page each, all from one lab built with
`manifests/service-types/`.

| Type | Who can reach it | What netlab shows |
|---|---|---|
| [ClusterIP](clusterip.md) | pods and nodes inside the cluster | `KUBE-SERVICES → KUBE-SVC → KUBE-SEP` (DNAT) |
| [NodePort](nodeport.md) | port `30080` on every node IP | `KUBE-NODEPORTS → KUBE-EXT → KUBE-SVC` |
| [LoadBalancer](loadbalancer.md) | one external IP from the pool | a `/32` on one node's `eth0`, `KUBE-EXT` |
| [ExternalName](externalname.md) | (the other way: pod → outside) | a DNS CNAME, no rules |

To regenerate these pages: `sudo /opt/netlab/venv/bin/python scripts/gen-service-docs.py`
"""
    return pages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(REPO / "docs" / "service-types"))
    args = parser.parse_args(argv)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, exit_on_signal)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            # Inside the try: a create interrupted half-way (its rollback killed with it) is
            # cleaned up too. Only a cluster that already existed is left alone.
            lab = create_lab(Path(tmp))
            pages = generate(lab)
        except ClusterTaken as exc:
            raise SystemExit(str(exc)) from None
        except BaseException:
            delete_lab()
            raise
        if not delete_lab():
            return 1
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, text in pages.items():
        (out / name).write_text(text)
        print(out / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
