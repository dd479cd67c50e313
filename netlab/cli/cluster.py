"""`netlab cluster create|delete|list` and `netlab reset`."""

from __future__ import annotations

from typing import Optional

import typer

from netlab.api.cluster import default_cluster, load_cluster_config
from netlab.cli.common import note, out, print_table, report
from netlab.errors import KernelError, require_root
from netlab.lab import lifecycle as clusters
from netlab.naming import CLUSTER_ENV, DEFAULT_CLUSTER


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Create, delete and list labs (clusters).", no_args_is_help=True)
    app.add_typer(group, name="cluster")

    @group.command("create")
    def create(
        name: Optional[str] = typer.Option(None, "--name", help="Cluster name (default: netlab, or the config's)."),
        nodes: Optional[int] = typer.Option(None, "--nodes", min=1, max=200, help="Number of nodes (default 2)."),
        config: Optional[str] = typer.Option(None, "--config", help="A Cluster config file (netlab.dev/v1alpha1)."),
        retain: bool = typer.Option(False, "--retain", help="Keep what was built if creation fails (for debugging)."),
        kube_proxy_mode: Optional[str] = typer.Option(
            None, "--kube-proxy-mode", help="kube-proxy's mode: iptables (default) or nftables (ipvs is refused)."
        ),
        routing: Optional[str] = typer.Option(
            None, "--routing", help="How pods cross nodes: host-gw (default), vxlan (flannel's overlay) or bgp (Calico-style, BIRD)."
        ),
        ip_family: Optional[str] = typer.Option(
            None, "--ip-family", help="IP families, kind's names: ipv4 (default), ipv6 or dual (IPv4 primary)."
        ),
    ) -> None:
        """Build a lab: fabric switch, node namespaces with cni0 and routes, cluster DNS."""
        if config:
            cfg = load_cluster_config(config)
            if name and name != cfg.name or nodes or kube_proxy_mode or routing or ip_family:
                data = cfg.to_document()
                if name:
                    data["metadata"]["name"] = name
                if nodes:
                    data["spec"]["nodes"] = default_cluster(nodes=nodes).to_document()["spec"]["nodes"]
                if routing:
                    data["spec"]["routing"] = routing
                if kube_proxy_mode:
                    data["spec"]["kubeProxyMode"] = kube_proxy_mode
                if ip_family and ip_family != cfg.ipFamily:
                    from netlab.api.cluster import with_ip_family

                    data = with_ip_family(data, default_cluster(ip_family=cfg.ipFamily), ip_family)
                from netlab.api.cluster import cluster_from_document

                cfg = cluster_from_document(data, config)
        else:
            cfg = default_cluster(name or DEFAULT_CLUSTER, nodes, kube_proxy_mode, routing, ip_family)
        note(
            f"Creating cluster {cfg.name!r} ({len(cfg.nodes)} nodes, kube-proxy {cfg.kubeProxyMode} mode, "
            f"routing {cfg.routing}, {cfg.ipFamily}) ..."
        )
        lab, outcome = clusters.create(cfg, retain=retain)
        out(f"cluster/{cfg.name} created")
        for node in lab.topo.nodes:
            underlay = ", ".join(str(ip) for ip in node.underlay_ips)
            note(f"  node {node.name}: underlay {underlay}, pods {', '.join(str(s) for s in node.subnets)}")
        services = ", ".join(str(c) for c in lab.topo.service_cidrs)
        note(f"  services {services}, cluster DNS {', '.join(str(ip) for ip in lab.topo.dns_ips)}")
        report(outcome.problems)

    @group.command("delete")
    def delete(cluster: str = typer.Option(DEFAULT_CLUSTER, "--name", "--cluster", envvar=CLUSTER_ENV, help="Cluster to delete.")) -> None:
        """Remove a lab and everything it owns (namespaces, links, host routes, processes, state)."""
        removed = clusters.delete(cluster)
        if removed.problems:
            raise KernelError("\n".join([f"cluster/{cluster} only partly deleted:", *removed.problems]),
                              detail="run netlab cluster delete again, or netlab reset")
        out(f"cluster/{cluster} deleted")

    @group.command("list")
    def list_() -> None:
        """The labs on this machine."""
        require_root()
        rows = []
        for c in clusters.list_clusters():
            if c.problem:
                # One unreadable lab (say, written by a newer netlab) must not hide the others.
                note(f"warning: cluster {c.name}: {c.problem}")
                rows.append([c.name, "?", "?", "?", "?", "?"])
                continue
            rows.append([c.name, c.nodes, c.pods, c.pod_cidr, c.service_cidr, c.underlay])
        if not rows:
            note("No clusters found.")
            return
        print_table(["NAME", "NODES", "PODS", "POD-CIDR", "SERVICE-CIDR", "UNDERLAY"], rows)

    @app.command("reset")
    def reset() -> None:
        """Remove every object netlab owns on this machine (all labs), even without its state. Idempotent."""
        removed = clusters.reset()
        note(
            f"removed {len(removed.namespaces)} network namespaces, {len(removed.links)} host links, "
            f"{len(removed.routes)} host routes"
        )
        if removed.problems:
            raise KernelError("\n".join(removed.problems), detail="run netlab reset again; the problems above name what is left")
