"""kube-proxy's nftables names, derived exactly as upstream derives them (pure).

Upstream (pkg/proxy/nftables/proxier.go): everything lives in one table, `ip kube-proxy`, so
names need no "KUBE-" prefix. Per-service-port chains are `service-`, `local-`, `external-`,
`firewall-` + hashAndTruncate("ns/svc/proto/portname"); endpoint chains and their affinity sets
are `endpoint-` / `affinity-` + hashAndTruncate("ns/svc/proto/portname__ip/port"), where
hashAndTruncate prefixes the first 8 characters of base32(sha256(name)) and a dash. So a Service
in netlab gets the chain names it would get on a real node in nftables mode.
"""

from __future__ import annotations

import base64
import functools
import hashlib

FAMILY = "ip"  # the IPv4 proxier's table family; IPv6's is "ip6" (knftables.IPv6Family)
TABLE = "kube-proxy"


def table_family(family: int) -> str:
    """nftables' address family of the proxier for IP family 4 or 6: "ip" or "ip6"."""
    return "ip6" if family == 6 else "ip"

# Base chains: "${type}-${hook}" (upstream nftablesBaseChains), with their hook and priority.
FILTER_PREROUTING = "filter-prerouting"
FILTER_INPUT = "filter-input"
FILTER_FORWARD = "filter-forward"
FILTER_OUTPUT = "filter-output"
FILTER_OUTPUT_POST_DNAT = "filter-output-post-dnat"
NAT_PREROUTING = "nat-prerouting"
NAT_OUTPUT = "nat-output"
NAT_POSTROUTING = "nat-postrouting"

# Regular top-level chains, sets and maps (upstream's constants of the same meaning).
SERVICES = "services"
SERVICE_IPS = "service-ips"
SERVICE_NODEPORTS = "service-nodeports"
NODEPORT_IPS = "nodeport-ips"
CLUSTER_IPS = "cluster-ips"
SERVICE_ENDPOINTS_CHECK = "service-endpoints-check"
NODEPORT_ENDPOINTS_CHECK = "nodeport-endpoints-check"
NO_ENDPOINT_SERVICES = "no-endpoint-services"
NO_ENDPOINT_NODEPORTS = "no-endpoint-nodeports"
REJECT_CHAIN = "reject-chain"
CLUSTER_IPS_CHECK = "cluster-ips-check"
FIREWALL_IPS = "firewall-ips"
FIREWALL_CHECK = "firewall-check"
MARK_MASQ = "mark-for-masquerade"
MASQUERADING = "masquerading"

# knftables.NameLengthMax (256) minus the longest prefix (chainNamePrefixLengthMax, 16).
_NAME_BASE_MAX = 256 - 16


def service_chain(namespace: str, service: str, protocol: str, port_name: str) -> str:
    """service-… (upstream clusterPolicyChainName): the "Cluster" policy's endpoints."""
    return "service-" + _port_base(namespace, service, protocol, port_name)


def local_chain(namespace: str, service: str, protocol: str, port_name: str) -> str:
    """local-… (localPolicyChainName): this node's endpoints, for a "Local" policy."""
    return "local-" + _port_base(namespace, service, protocol, port_name)


def external_chain(namespace: str, service: str, protocol: str, port_name: str) -> str:
    """external-… (externalChainName): NodePort, external and load-balancer IP traffic."""
    return "external-" + _port_base(namespace, service, protocol, port_name)


def firewall_chain(namespace: str, service: str, protocol: str, port_name: str) -> str:
    """firewall-… (firewallChainName): loadBalancerSourceRanges."""
    return "firewall-" + _port_base(namespace, service, protocol, port_name)


def endpoint_chain(namespace: str, service: str, protocol: str, port_name: str, ip: str, port: int) -> str:
    """endpoint-… (endpointInfo.chainName): hairpin SNAT mark, affinity update, DNAT."""
    return "endpoint-" + _endpoint_base(namespace, service, protocol, port_name, ip, port)


def affinity_set(namespace: str, service: str, protocol: str, port_name: str, ip: str, port: int) -> str:
    """affinity-… (endpointInfo.affinitySetName): client IPs stuck to this endpoint."""
    return "affinity-" + _endpoint_base(namespace, service, protocol, port_name, ip, port)


def is_service_chain(name: str) -> bool:
    """Upstream isServiceChainName: only per-service and per-endpoint chains contain a "/"."""
    return "/" in name


def _port_base(namespace: str, service: str, protocol: str, port_name: str) -> str:
    # servicePortChainNameBase: "ns/svc/proto/portname" (portname may be empty).
    return _hash_and_truncate(f"{namespace}/{service}/{protocol.lower()}/{port_name}")


def _endpoint_base(namespace: str, service: str, protocol: str, port_name: str, ip: str, port: int) -> str:
    # servicePortEndpointChainNameBase: "ns/svc/proto/portname__ip/port"; an IPv6 address's
    # colons, not allowed in a chain name, become dots.
    ip = ip.replace(":", ".")
    return _hash_and_truncate(f"{namespace}/{service}/{protocol.lower()}/{port_name}__{ip}/{port}")


@functools.lru_cache(maxsize=65536)
def _hash_and_truncate(name: str) -> str:
    encoded = base64.b32encode(hashlib.sha256(name.encode()).digest()).decode()
    name = encoded[:8] + "-" + name
    if len(name) > _NAME_BASE_MAX:
        name = name[: _NAME_BASE_MAX - 3] + "..."
    return name
