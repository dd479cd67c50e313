"""The files a kubelet writes for each pod: resolv.conf and hosts (pure)."""

from __future__ import annotations

from netlab.api.models import Pod


def resolv_conf(namespace: str, domain: str, nameserver: str) -> str:
    # kubelet's ClusterFirst policy: the pod's namespace first in the search path, ndots:5.
    return (
        f"search {namespace}.svc.{domain} svc.{domain} {domain}\n"
        f"nameserver {nameserver}\n"
        "options ndots:5\n"
    )


def hosts_file(
    ip: str, hostname: str, subdomain: str | None, namespace: str, domain: str
) -> str:
    # The same lines kubelet's managed /etc/hosts has (pkg/kubelet/kubelet_pods.go).
    lines = [
        "# Kubernetes-managed hosts file (netlab).",
        "127.0.0.1\tlocalhost",
        "::1\tlocalhost ip6-localhost ip6-loopback",
        "fe00::0\tip6-localnet",
        "fe00::0\tip6-mcastprefix",
        "fe00::1\tip6-allnodes",
        "fe00::2\tip6-allrouters",
    ]
    if subdomain:
        lines.append(f"{ip}\t{hostname}.{subdomain}.{namespace}.svc.{domain}\t{hostname}")
    else:
        lines.append(f"{ip}\t{hostname}")
    return "\n".join(lines) + "\n"


def pod_hostname(pod: Pod) -> str:
    return pod.spec.hostname or pod.metadata.name
