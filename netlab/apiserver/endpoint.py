"""The apiserver's own endpoint, as every cluster has it: the `default/kubernetes` Service.

kubeadm's apiserver listens on its node's address, port 6443, and its "master endpoints
reconciler" (k8s.io/kubernetes pkg/controlplane/reconcilers) keeps the selectorless Service
`default/kubernetes` — the first address of the service range, port 443 named `https` — pointing
there. netlab's stand-in (`python -m netlab.apiserver.serve`, supervised by `lab/apiendpoint.py`)
answers what an anonymous client of a real apiserver gets: `/healthz`, `/readyz`, `/livez`
(`ok`) and `/version`, over HTTPS, on a dedicated underlay address, the second of the underlay
(the host has the first, the nodes .11 on): the control plane's "machine" on the lab's switch.

Pure: the address, the Service, its endpoints and the /version document.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import Any

NAMESPACE = "default"
NAME = "kubernetes"
SECURE_PORT = 6443  # kube-apiserver --secure-port as kubeadm sets it
SERVICE_PORT = 443
PORT_NAME = "https"
UNDERLAY_OFFSET = 2
# The Kubernetes release whose behaviour netlab follows, as /version reports it.
MAJOR, MINOR, PATCH = "1", "31", "0"


def address(underlay: IPv4Network | IPv6Network) -> IPv4Address | IPv6Address:
    """Where the control plane's endpoint listens: the underlay's second address."""
    return underlay.network_address + UNDERLAY_OFFSET


def service_ip(service_cidr: IPv4Network | IPv6Network) -> IPv4Address | IPv6Address:
    """The first address of the service range (the allocator keeps it for this Service)."""
    return service_cidr.network_address + 1


def is_kubernetes_service(namespace: str, name: str) -> bool:
    return namespace == NAMESPACE and name == NAME


def service_manifest(service_cidr: IPv4Network | IPv6Network) -> dict[str, Any]:
    """The Service as the apiserver creates it at start (labels and all); no selector: its
    endpoints are the apiserver's own address, not pods."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": {"component": "apiserver", "provider": "kubernetes"}},
        "spec": {
            "type": "ClusterIP",
            "clusterIP": str(service_ip(service_cidr)),
            "ports": [{"name": PORT_NAME, "port": SERVICE_PORT, "protocol": "TCP", "targetPort": SECURE_PORT}],
        },
    }


def service_status(manifest: dict[str, Any]) -> dict[str, Any]:
    """The Service's allocated fields: single-stack, the primary family (as the apiserver
    creates it)."""
    ip = manifest["spec"]["clusterIP"]
    return {"clusterIP": ip, "clusterIPs": [ip], "ipFamilies": ["IPv6" if ":" in ip else "IPv4"], "ipFamilyPolicy": "SingleStack"}


def version_info(machine: str = "x86_64") -> dict[str, str]:
    """`/version`, the fields of k8s.io/apimachinery's version.Info in their order."""
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)
    return {
        "major": MAJOR,
        "minor": MINOR,
        "gitVersion": f"v{MAJOR}.{MINOR}.{PATCH}",
        "gitCommit": "netlab",
        "gitTreeState": "clean",
        "buildDate": "1970-01-01T00:00:00Z",
        "goVersion": "python",
        "compiler": "gc",
        "platform": f"linux/{arch}",
    }


def subject_alt_names(service_cidr: IPv4Network | IPv6Network, underlay: IPv4Network | IPv6Network, domain: str) -> list[str]:
    """The names kubeadm puts in the apiserver's serving certificate."""
    names = ["kubernetes", "kubernetes.default", "kubernetes.default.svc", f"kubernetes.default.svc.{domain}"]
    return [f"DNS:{n}" for n in names] + [f"IP:{service_ip(service_cidr)}", f"IP:{address(underlay)}"]
