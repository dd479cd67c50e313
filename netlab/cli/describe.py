"""`netlab describe`: one object in detail, from `netlab/views/describe.py`."""

from __future__ import annotations

import typer

from netlab.api.kinds import lookup
from netlab.cli.common import ClusterOption, NamespaceOption, open_alive, out
from netlab.errors import require_root
from netlab.views import describe as describe_view


def register(app: typer.Typer) -> None:
    @app.command("describe")
    def describe(
        resource: str = typer.Argument(..., help="pod, svc, netpol, node, ingress (ing), ingressclass, gateway (gtw), httproute, secret, referencegrant, sa, role, clusterrole, rolebinding or clusterrolebinding"),
        name: str = typer.Argument(...),
        namespace: str = NamespaceOption,
        cluster: str = ClusterOption,
    ) -> None:
        """Show one pod, Service, NetworkPolicy or node in detail: IPs, veth pairs, routes, containers, chains, selected pods, events."""
        require_root()
        info = lookup(resource)
        if info is None or info.kind not in describe_view.DESCRIBED:
            raise typer.BadParameter("describe supports pod, svc, netpol, node, ingress, ingressclass, gateway, httproute, secret, referencegrant, sa, role, clusterrole, rolebinding and clusterrolebinding")
        lines = describe_view.describe(open_alive(cluster), info.kind, name, namespace)
        for line in lines:
            out(line)
