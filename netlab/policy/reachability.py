"""`policy matrix`'s probes: a real connection from inside every source pod to every
destination pod's IP, many at a time. Destinations are the lab's own pod IPs, nothing else: in
a dual-stack lab, those of the family asked for (`--family 6` probes over the IPv6 addresses)."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

from netlab import naming
from netlab.apiserver.state import Lab
from netlab.kernel import ns, probe
from netlab.policy import matrix as tables
from netlab.policy.model import PolicyInputs, PolicyPod

# Namespaces the matrix leaves out unless named: the cluster's own pods (coredns).
SYSTEM_NAMESPACES = ("kube-system", "kube-public")


def pods_to_probe(lab: Lab, inputs: PolicyInputs, namespaces: set[str] | None, family: int = 4) -> list[PolicyPod]:
    """The running pods of `namespaces` (default: all but the system ones) with an address in
    `family`, sorted."""
    return [
        p for p in sorted(inputs.pods, key=lambda p: (p.namespace, p.name))
        if (p.namespace in namespaces if namespaces else p.namespace not in SYSTEM_NAMESPACES)
        and p.ip_for(family)
        and os.path.exists(ns.netns_path(naming.pod_netns(lab.name, p.namespace, p.name)))
    ]  # fmt: skip


def probe_matrix(
    lab: Lab, pods: list[PolicyPod], port: int, protocol: str, timeout: float, parallel: int, family: int = 4
) -> tables.Matrix:
    """Who reaches whom on port/protocol ("tcp" or "udp") over `family`, every pair probed for real."""
    pairs = [(src, dst) for src in pods for dst in pods]

    def one(pair: tuple[PolicyPod, PolicyPod]) -> probe.ProbeResult:
        src, dst = pair
        path = ns.netns_path(naming.pod_netns(lab.name, src.namespace, src.name))
        return probe.connect(path, dst.ip_for(family), port, protocol, timeout)

    with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(pairs)))) as pool:
        results = list(pool.map(one, pairs))
    return tables.Matrix(tuple(p.key for p in pods), {(s.key, d.key): r.connected for (s, d), r in zip(pairs, results)})
