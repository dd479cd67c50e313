"""`netlab node fail|recover|cordon|uncordon|drain` and `netlab scale`."""

from __future__ import annotations

from typing import Optional

import typer

from netlab.api.kinds import WORKLOAD_KINDS, lookup
from netlab.cli.common import ClusterOption, NamespaceOption, out, report
from netlab.errors import require_root
from netlab.lab import commands, nodes


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Fail, recover, cordon, uncordon and drain nodes.", no_args_is_help=True)
    app.add_typer(group, name="node")

    @group.command("fail")
    def fail(node: str = typer.Argument(..., help="Node name, e.g. node-b."), cluster: str = ClusterOption) -> None:
        """Power a node off: its namespace and every pod on it vanish (seed 001's fire).

        Deployment and StatefulSet pods are re-created on healthy nodes with new IPs; bare pods are not.
        """
        require_root()
        with commands.writing(cluster) as lab:
            outcome = nodes.fail(lab, node)
        out(f"node/{node} failed")
        report(outcome.problems)

    @group.command("recover")
    def recover(node: str = typer.Argument(...), cluster: str = ClusterOption) -> None:
        """Power a failed node on again (its bare pods get new sandboxes, with new IPs)."""
        require_root()
        with commands.writing(cluster) as lab:
            outcome = nodes.recover(lab, node)
        out(f"node/{node} recovered")
        report(outcome.problems)

    @group.command("cordon")
    def cordon(node: str = typer.Argument(...), cluster: str = ClusterOption) -> None:
        """Mark a node unschedulable: running pods stay, new pods go elsewhere."""
        require_root()
        with commands.writing(cluster) as lab:
            nodes.cordon(lab, node, True)
        out(f"node/{node} cordoned")

    @group.command("uncordon")
    def uncordon(node: str = typer.Argument(...), cluster: str = ClusterOption) -> None:
        """Make a node schedulable again."""
        require_root()
        with commands.writing(cluster) as lab:
            nodes.cordon(lab, node, False)
        out(f"node/{node} uncordoned")

    @group.command("drain")
    def drain(
        node: str = typer.Argument(...),
        force: bool = typer.Option(False, "--force", help="Also delete pods no controller will re-create."),
        cluster: str = ClusterOption,
    ) -> None:
        """Cordon a node and evict its pods (controllers re-create them on other nodes)."""
        require_root()
        with commands.writing(cluster) as lab:
            evicted, outcome = nodes.drain(lab, node, force)
        for name in evicted:
            out(f"pod/{name.split('/')[1]} evicted")
        out(f"node/{node} drained")
        report(outcome.problems)

    @app.command("scale")
    def scale(
        target: str = typer.Argument(..., help="deploy/NAME, rs/NAME or sts/NAME (or KIND NAME, as kubectl takes it)"),
        target_name: Optional[str] = typer.Argument(None, metavar="[NAME]", show_default=False),
        replicas: int = typer.Option(..., "--replicas", min=0, help="The new number of replicas."),
        namespace: str = NamespaceOption,
        cluster: str = ClusterOption,
    ) -> None:
        """Set the number of replicas of a Deployment, ReplicaSet or StatefulSet."""
        require_root()
        if target_name and "/" in target:
            raise typer.BadParameter("there is no need to specify a resource type as a separate argument when passing arguments in resource/name form")
        kind_text, _, name = (f"{target}/{target_name}" if target_name else target).partition("/")
        info = lookup(kind_text)
        if info is None or info.kind not in WORKLOAD_KINDS or not name:
            raise typer.BadParameter("expected deploy/NAME, rs/NAME or sts/NAME", param_hint="TARGET")
        change, problems = commands.scale(cluster, info.kind, namespace, name, replicas)
        out(str(change))
        report(problems)
