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


def pod_resolv_conf(pod: Pod, namespace: str, domain: str, nameserver: str) -> str:
    """The pod's resolv.conf for its dnsPolicy, with dnsConfig merged in as the kubelet merges
    it (pkg/kubelet/network/dns: GetPodDNS, appendDNSConfig, mergeDNSOptions).

    `Default` means "the node's resolv.conf"; a netlab node has no upstream resolver (lab
    traffic never leaves the lab), so that is an empty one. `ClusterFirst` falls back to
    `Default` for a hostNetwork pod, as upstream does; `ClusterFirstWithHostNet` does not."""
    policy = pod.spec.dnsPolicy or "ClusterFirst"
    host_network = bool(pod.spec.hostNetwork)
    servers: list[str] = []
    searches: list[str] = []
    options: dict[str, str] = {}
    if policy == "ClusterFirstWithHostNet" or (policy == "ClusterFirst" and not host_network):
        servers = [nameserver]
        searches = [f"{namespace}.svc.{domain}", f"svc.{domain}", domain]
        options = {"ndots": "5"}
    config = pod.spec.dnsConfig
    if config is not None:
        servers = _unique(servers + list(config.nameservers))
        searches = _unique(searches + [s.removesuffix(".") for s in config.searches])
        for option in config.options:
            options[option.name] = option.value or ""
    lines = []
    if searches:
        lines.append("search " + " ".join(searches))
    lines += [f"nameserver {s}" for s in servers]
    if options:
        lines.append("options " + " ".join(f"{k}:{v}" if v else k for k, v in options.items()))
    return "".join(line + "\n" for line in lines)


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def hosts_file(
    ips: str | list[str], hostname: str, subdomain: str | None, namespace: str, domain: str
) -> str:
    # The same lines kubelet's managed /etc/hosts has (pkg/kubelet/kubelet_pods.go): a line
    # for each of the pod's IPs (both families in a dual-stack lab).
    ips = [ips] if isinstance(ips, str) else ips
    lines = [
        "# Kubernetes-managed hosts file (netlab).",
        "127.0.0.1\tlocalhost",
        "::1\tlocalhost ip6-localhost ip6-loopback",
        "fe00::0\tip6-localnet",
        "fe00::0\tip6-mcastprefix",
        "fe00::1\tip6-allnodes",
        "fe00::2\tip6-allrouters",
    ]
    for ip in ips:
        if subdomain:
            lines.append(f"{ip}\t{hostname}.{subdomain}.{namespace}.svc.{domain}\t{hostname}")
        else:
            lines.append(f"{ip}\t{hostname}")
    return "\n".join(lines) + "\n"


def pod_hostname(pod: Pod) -> str:
    return pod.spec.hostname or pod.metadata.name
