"""`netlab policy matrix|explain`: NetworkPolicy, probed and explained."""

from __future__ import annotations

import sys
from typing import List, Optional

import typer

from netlab.cli.common import ClusterOption, NamespaceOption, Protocol, note, open_alive, out
from netlab.errors import InvalidInput, NetlabError, NotFound, require_root
from netlab.policy import matrix as tables
from netlab.policy.explain import explain, explanation_lines
from netlab.policy.inputs import pod_ref, policy_inputs, port_ref
from netlab.policy.reachability import pods_to_probe, probe_matrix


def _family(lab, family: int | None) -> int:
    """--family, checked against the lab's families (default: its primary)."""
    families = lab.topo.families
    family = family or families[0]
    if family not in (4, 6):
        raise InvalidInput(f"--family {family}: must be 4 or 6")
    if family not in families:
        raise InvalidInput(f"--family {family}: cluster {lab.name} has no IPv{family} (its families: {', '.join(f'IPv{f}' for f in families)})")
    return family


class ReachabilityMismatch(NetlabError):
    """Probes disagree with the expected truth table (exit code 1)."""


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
        family: Optional[int] = typer.Option(None, "--family", help="IP family to probe over, 4 or 6 (default: the cluster's primary)."),
        cluster: str = ClusterOption,
    ) -> None:
        """Probe every pod pair with a real connection and print who reaches whom.

        Each probe is a short TCP connect (or a UDP query netexec answers) made from inside the
        source pod to the destination pod's IP (of --family in a dual-stack cluster). Rows are sources, columns destinations;
        ✓/✗ on a terminal, ./X otherwise (a saved table is a valid --expect file).
        """
        require_root()
        lab = open_alive(cluster)
        expected = None
        if expect is not None:
            try:
                with open(expect, encoding="utf-8") as f:
                    expected = tables.parse(f.read(), expect)
            except OSError as exc:
                raise InvalidInput(f"{expect}: cannot read: {exc.strerror}") from None
        family = _family(lab, family)
        wanted = set(namespaces) if namespaces else None
        pods = pods_to_probe(lab, policy_inputs(lab), wanted, family)
        if not pods:
            raise NotFound("no running pods to probe" + (f" in {', '.join(sorted(wanted))}" if wanted else ""))
        pairs = len(pods) ** 2
        note(f"probing {pairs} pairs on {port}/{protocol.value.upper()} over IPv{family} ({min(parallel, pairs)} at a time) ...")
        observed = probe_matrix(lab, pods, port, protocol.value, timeout, parallel, family)
        fancy = sys.stdout.isatty()
        for line in observed.lines(*(("✓", "✗") if fancy else (".", "X"))):
            out(line)
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
        family: Optional[int] = typer.Option(None, "--family", help="IP family of the connection, 4 or 6 (default: the cluster's primary)."),
        namespace: str = NamespaceOption,
        cluster: str = ClusterOption,
    ) -> None:
        """Say which policies allow or deny a connection, and why (from the stored policies; sends nothing)."""
        require_root()
        lab = open_alive(cluster)
        inputs = policy_inputs(lab)
        target, _, port_text = destination.partition(":")
        src = pod_ref(source, namespace, inputs)
        dst = pod_ref(target, namespace, inputs)
        proto = protocol.value.upper()
        result = explain(inputs, src, dst, port_ref(port_text or "80", dst, proto), proto, _family(lab, family))
        for line in explanation_lines(result):
            out(line)
