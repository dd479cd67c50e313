"""Which endpoints one node's kube-proxy sends a service port's traffic to (pure).

Upstream `proxy.CategorizeEndpoints` (pkg/proxy/topology.go), without topology hints and
terminating endpoints (netlab has neither): "Cluster" traffic policy uses every ready
endpoint, "Local" policy only the ready endpoints on this node.
"""

from __future__ import annotations

from dataclasses import dataclass

from netlab.proxy.types import Endpoint, ServicePortInfo


@dataclass(frozen=True)
class Categorized:
    cluster: tuple[Endpoint, ...]  # KUBE-SVC- targets
    local: tuple[Endpoint, ...]  # KUBE-SVL- targets
    reachable: tuple[Endpoint, ...]  # endpoints that get a KUBE-SEP- chain on this node
    has_any: bool  # the port has a usable endpoint somewhere in the cluster


def categorize(port: ServicePortInfo, node: str) -> Categorized:
    ready = port.ready_endpoints  # sorted by "ip:port", as upstream's endpoint cache is
    cluster = ready if port.uses_cluster_endpoints else ()
    local = tuple(e for e in ready if e.node == node) if port.uses_local_endpoints else ()
    has_any = bool(ready) and (port.uses_cluster_endpoints or port.uses_local_endpoints)
    if not port.uses_local_endpoints:
        reachable = cluster
    elif not port.uses_cluster_endpoints:
        reachable = local
    else:
        reachable = tuple(e for e in ready if e in cluster or e in local)
    return Categorized(cluster=cluster, local=local, reachable=reachable, has_any=has_any)
