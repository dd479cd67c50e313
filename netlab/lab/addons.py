"""The objects every cluster starts with: its namespaces, `default/kubernetes` and the cluster
DNS (pure)."""

from __future__ import annotations

from typing import Any, Iterator

from netlab.api.cluster import ClusterConfig
from netlab.apiserver import endpoint
from netlab.apiserver.bootstrap import SYSTEM_NAMESPACES, namespace_manifest

COREDNS_IMAGE = "registry.k8s.io/coredns/coredns:v1.11.3"


def system_objects(config: ClusterConfig) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    """(kind, namespace, name, manifest) for the objects kubeadm would have created."""
    for name in SYSTEM_NAMESPACES:
        yield "Namespace", "", name, namespace_manifest(name)
    # The apiserver creates this Service at start; its endpoint is the control plane's own
    # address (apiserver/endpoint.py), kept by the endpoints step, not selected pods.
    yield "Service", endpoint.NAMESPACE, endpoint.NAME, endpoint.service_manifest(config.serviceCIDR[0])
    # kubeadm's CoreDNS addon: its ServiceAccount and what it may read (stored, not enforced).
    for kind, namespace, name, manifest in coredns_rbac():
        yield kind, namespace, name, manifest
    labels = {"k8s-app": "kube-dns"}
    # kubeadm runs CoreDNS as a Deployment of two replicas; so does netlab, so cluster DNS
    # survives a failed node (its replica is re-created on a healthy one).
    yield "Deployment", "kube-system", "coredns", {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "coredns", "namespace": "kube-system", "labels": labels},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "serviceAccountName": "coredns",
                    "containers": [
                        {
                            "name": "coredns",
                            "image": COREDNS_IMAGE,
                            "ports": [
                                {"name": "dns", "containerPort": 53, "protocol": "UDP"},
                                {"name": "dns-tcp", "containerPort": 53, "protocol": "TCP"},
                            ],
                        }
                    ]
                },
            },
        },
    }
    # The Service every pod's resolv.conf points at (kubeadm's kube-dns, clusterDNS address).
    yield "Service", "kube-system", "kube-dns", {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "kube-dns", "namespace": "kube-system", "labels": labels},
        "spec": {
            "selector": labels,
            "clusterIP": str(config.clusterDNS),
            # In a dual-stack lab the DNS Service answers on both families (the second address
            # is the 10th of the second service range, fd00:10:96::a).
            **(dns_families(config) if len(config.families) > 1 else {}),
            "ports": [
                {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
            ],
        },
    }


def dns_families(config) -> dict[str, Any]:
    return {
        "clusterIPs": [str(ip) for ip in config.cluster_dns_ips],
        "ipFamilies": ["IPv4" if ip.version == 4 else "IPv6" for ip in config.cluster_dns_ips],
        "ipFamilyPolicy": "PreferDualStack",
    }


def dns_status(config) -> dict[str, Any]:
    """The kube-dns Service's allocated fields: clusterIP(s) and families."""
    families = dns_families(config)
    return {
        "clusterIP": str(config.clusterDNS),
        "clusterIPs": families["clusterIPs"] if len(config.families) > 1 else [str(config.clusterDNS)],
        "ipFamilies": families["ipFamilies"] if len(config.families) > 1 else families["ipFamilies"][:1],
        "ipFamilyPolicy": "PreferDualStack" if len(config.families) > 1 else "SingleStack",
    }


def kubernetes_status(manifest: dict[str, Any]) -> dict[str, Any]:
    """default/kubernetes's allocated fields: single-stack, the primary family (as the
    apiserver creates it)."""
    return endpoint.service_status(manifest)


def coredns_rbac() -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    """kubeadm's CoreDNS RBAC (cmd/kubeadm/app/phases/addons/dns/manifests.go): the
    ServiceAccount `kube-system/coredns`, the ClusterRole `system:coredns` (list and watch
    endpoints, services, pods, namespaces and EndpointSlices) and its binding."""
    rbac = "rbac.authorization.k8s.io"
    yield "ServiceAccount", "kube-system", "coredns", {
        "apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "coredns", "namespace": "kube-system"},
    }
    yield "ClusterRole", "", "system:coredns", {
        "apiVersion": f"{rbac}/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "system:coredns"},
        "rules": [
            {"apiGroups": [""], "resources": ["endpoints", "services", "pods", "namespaces"], "verbs": ["list", "watch"]},
            {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["list", "watch"]},
        ],
    }
    yield "ClusterRoleBinding", "", "system:coredns", {
        "apiVersion": f"{rbac}/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": "system:coredns"},
        "roleRef": {"apiGroup": rbac, "kind": "ClusterRole", "name": "system:coredns"},
        "subjects": [{"kind": "ServiceAccount", "name": "coredns", "namespace": "kube-system"}],
    }
