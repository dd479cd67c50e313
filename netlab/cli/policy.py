"""`netlab policy matrix|explain` and `netlab describe netpol`: NetworkPolicy, seen and explained."""

from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from enum import Enum
from typing import List, Optional

import typer

from netlab import naming
from netlab.api.networkpolicy import NetworkPolicy
from netlab.cli.common import ClusterOption, NamespaceOption, note, out
from netlab.lab.lifecycle import require_root
from netlab.errors import InvalidInput, NetlabError, NotFound
from netlab.kernel import ns, probe
from netlab.apiserver.state import Lab, open_lab
from netlab.policy import matrix as tables
from netlab.policy.describe import describe_lines
from netlab.policy.explain import explain, explanation_lines
from netlab.policy.model import PolicyInputs, PolicyPod, policy_from_api
from netlab.lab.reconcile import pod_model, pod_view, policy_inputs
from netlab.kubelet.status import age, timestamp
from netlab.apiserver.store import StoredObject

NETPOL_NAMES = ("netpol", "netpols", "networkpolicy", "networkpolicies")
# Namespaces the matrix leaves out unless named with -n: the cluster's own pods (coredns).
SYSTEM_NAMESPACES = ("kube-system", "kube-public")


class Protocol(str, Enum):
    tcp = "tcp"
    udp = "udp"


class ReachabilityMismatch(NetlabError):
    """Probes disagree with the expected truth table (exit code 1)."""


def lab_inputs(lab: Lab) -> PolicyInputs:
    return policy_inputs(lab, [pod_view(o, pod_model(o)) for o in lab.store.list("Pod")])


def describe_netpol(lab: Lab, obj: StoredObject) -> list[str]:
    np = NetworkPolicy.model_validate(obj.manifest)
    labels = ",".join(f"{k}={v}" for k, v in np.metadata.labels.items()) or "<none>"
    annotations = ",".join(f"{k}={v}" for k, v in np.metadata.annotations.items()) or "<none>"
    return [
        f"{'Name:':<14}{obj.name}",
        f"{'Namespace:':<14}{obj.namespace}",
        f"{'Created on:':<14}{timestamp(obj.created)} ({age(obj.created, time.time())} ago)",
        f"{'Labels:':<14}{labels}",
        f"{'Annotations:':<14}{annotations}",
        *describe_lines(policy_from_api(np), lab_inputs(lab)),
    ]


def _pod_ref(text: str, namespace: str, inputs: PolicyInputs) -> PolicyPod:
    key = text if "/" in text else f"{namespace}/{text}"
    pod = inputs.pod(key)
    if pod is None:
        raise NotFound(f'pod "{key}" not found or has no IP yet (see: netlab get pods -A -o wide)')
    return pod


def _port(text: str, pod: PolicyPod, protocol: str) -> int:
    if text.isdigit() and 1 <= int(text) <= 65535:
        return int(text)
    number = pod.named_port(text, protocol)
    if number is None:
        raise InvalidInput(f"port {text!r}: not a number 1-65535 nor a {protocol} port {pod.key} declares")
    return number


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="NetworkPolicy: probe who reaches whom, and explain why.", no_args_is_help=True)
    app.add_typer(group, name="policy")

    @group.command("matrix")
    def matrix(
        namespaces: Optional[List[str]] = typer.Option(None, "-n", "--namespace", help="Pods of these namespaces (repeatable; default: all but kube-system)."),
        port: int = typer.Option(80, "--port", min=1, max=65535, help="Destination port."),
        protocol: Protocol = typer.Option(Protocol.tcp, "--protocol", help="tcp or udp."),
        expect: Optional[str] = typer.Option(None, "--expect", help="A truth table file; exit 1 when the probes differ."),
        timeout: float = typer.Option(1.0, "--timeout", min=0.1, help="Seconds before a probe counts as blocked."),
        parallel: int = typer.Option(32, "--parallel", min=1, max=256, help="Probes at a time."),
        cluster: str = ClusterOption,
    ) -> None:
        """Probe every pod pair with a real connection and print who reaches whom.

        Each probe is a short TCP connect (or a UDP query netexec answers) made from inside the
        source pod to the destination pod's IP. Rows are sources, columns destinations;
        ✓/✗ on a terminal, ./X otherwise (a saved table is a valid --expect file).
        """
        require_root()
        lab = open_lab(cluster)
        expected = None
        if expect is not None:
            try:
                with open(expect, encoding="utf-8") as f:
                    expected = tables.parse(f.read(), expect)
            except OSError as exc:
                raise InvalidInput(f"{expect}: cannot read: {exc.strerror}") from None
        inputs = lab_inputs(lab)
        wanted = set(namespaces) if namespaces else None
        pods = [
            p for p in sorted(inputs.pods, key=lambda p: (p.namespace, p.name))
            if (p.namespace in wanted if wanted else p.namespace not in SYSTEM_NAMESPACES)
            and os.path.exists(ns.netns_path(naming.pod_netns(lab.name, p.namespace, p.name)))
        ]  # fmt: skip
        if not pods:
            raise NotFound("no running pods to probe" + (f" in {', '.join(sorted(wanted))}" if wanted else ""))
        pairs = [(src, dst) for src in pods for dst in pods]
        note(f"probing {len(pairs)} pairs on {port}/{protocol.value.upper()} ({min(parallel, len(pairs))} at a time) ...")

        def one(pair: tuple[PolicyPod, PolicyPod]) -> probe.ProbeResult:
            src, dst = pair
            path = ns.netns_path(naming.pod_netns(lab.name, src.namespace, src.name))
            return probe.connect(path, dst.ip, port, protocol.value, timeout)

        with ThreadPoolExecutor(max_workers=min(parallel, len(pairs))) as pool:
            results = list(pool.map(one, pairs))
        observed = tables.Matrix(
            tuple(p.key for p in pods),
            {(s.key, d.key): r.connected for (s, d), r in zip(pairs, results)},
        )
        fancy = sys.stdout.isatty()
        for line in observed.lines(*(("✓", "✗") if fancy else (".", "X"))):
            out.print(line, markup=False)
        if expected is not None:
            problems = tables.differences(expected, observed)
            if problems:
                raise ReachabilityMismatch(
                    f"{len(problems)} cell(s) differ from {expect}:\n" + "\n".join(problems),
                    detail="explain one with: netlab policy explain SRC DST:PORT",
                )
            note(f"matches {expect}")

    @group.command("explain")
    def explain_(
        source: str = typer.Argument(..., help="Source pod: NAME or NAMESPACE/NAME."),
        destination: str = typer.Argument(..., help="Destination pod: NAME, NAMESPACE/NAME, optionally :PORT (number or port name; default 80)."),
        protocol: Protocol = typer.Option(Protocol.tcp, "--protocol", help="tcp or udp."),
        namespace: str = NamespaceOption,
        cluster: str = ClusterOption,
    ) -> None:
        """Say which policies allow or deny a connection, and why (from the stored policies; sends nothing)."""
        require_root()
        lab = open_lab(cluster)
        inputs = lab_inputs(lab)
        target, _, port_text = destination.partition(":")
        src = _pod_ref(source, namespace, inputs)
        dst = _pod_ref(target, namespace, inputs)
        proto = protocol.value.upper()
        result = explain(inputs, src, dst, _port(port_text or "80", dst, proto), proto)
        for line in explanation_lines(result):
            out.print(line, markup=False)
