"""The apiserver's bootstrap controllers (k8s.io/kubernetes pkg/controlplane/controller), run
by the lab's control plane at every reconcile:

- kubernetesservice: the Service `default/kubernetes` exists. Deleting it is allowed, and it
  comes back — upstream within its 10 s interval, here at the reconcile the delete itself
  wakes — with the first address of the service range, unless another Service took that
  address meanwhile (then, as upstream's create fails, it stays away until the address is free).
- systemnamespaces: `default`, `kube-system`, `kube-public` and `kube-node-lease` exist. The
  first three cannot be deleted at all (the NamespaceLifecycle admission plugin's immortal
  namespaces, `registry.delete`); `kube-node-lease` can, and is re-created.
"""

from __future__ import annotations

from ipaddress import ip_address

from netlab.apiserver import endpoint
from netlab.apiserver.admission import cluster_ips
from netlab.apiserver.state import Lab

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
IMMORTAL_NAMESPACES = ("default", "kube-system", "kube-public")


def namespace_manifest(name: str) -> dict:
    # Kubernetes labels every namespace with its own name (used by namespaceSelector).
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}}}


def ensure_system_objects(lab: Lab) -> list[str]:
    """Re-create what is missing; returns `KIND NAMESPACE/NAME` of each object it created."""
    created = []
    store = lab.store
    with store.transaction():
        for name in SYSTEM_NAMESPACES:
            if store.get("Namespace", "", name) is None:
                store.put("Namespace", "", name, namespace_manifest(name))
                created.append(f"Namespace {name}")
        if store.get("Service", endpoint.NAMESPACE, endpoint.NAME) is None:
            manifest = endpoint.service_manifest(lab.config.serviceCIDR[0])
            ip = manifest["spec"]["clusterIP"]
            taken = {ip_address(a) for o in store.list("Service") for a in cluster_ips(o)}
            if ip_address(ip) not in taken:
                store.put("Service", endpoint.NAMESPACE, endpoint.NAME, manifest)
                store.set_status("Service", endpoint.NAMESPACE, endpoint.NAME, endpoint.service_status(manifest))
                created.append(f"Service {endpoint.NAMESPACE}/{endpoint.NAME}")
    return created
