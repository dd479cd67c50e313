"""kube-proxy's iptables chain names, derived exactly as upstream derives them.

Upstream (pkg/proxy/iptables/proxier.go): `portProtoHash` = first 16 characters of
base32(sha256(servicePortName + protocol)), with the protocol lower-cased ("tcp"); endpoint chains
hash servicePortName + protocol + "ip:port". So a Service in netlab gets the same KUBE-SVC-/KUBE-SEP-
names it would get on a real node, and iptables chain names stay within their 28-character limit.
"""

from __future__ import annotations

import base64
import functools
import hashlib

# Fixed chains (upstream constants kubeServicesChain, kubeMarkMasqChain, ...).
KUBE_SERVICES = "KUBE-SERVICES"
KUBE_EXTERNAL_SERVICES = "KUBE-EXTERNAL-SERVICES"
KUBE_NODEPORTS = "KUBE-NODEPORTS"
KUBE_POSTROUTING = "KUBE-POSTROUTING"
KUBE_MARK_MASQ = "KUBE-MARK-MASQ"
KUBE_FORWARD = "KUBE-FORWARD"
KUBE_PROXY_FIREWALL = "KUBE-PROXY-FIREWALL"

# Per-service-port chains, all built from the same hash (upstream portProtoHash): KUBE-SVC-
# (endpoints for "Cluster" traffic policy), KUBE-SVL- (node-local endpoints for "Local"
# policy), KUBE-EXT- (NodePort, LoadBalancer and external IP traffic), KUBE-FW-
# (loadBalancerSourceRanges), KUBE-SEP- (one endpoint; also hashes the endpoint).
SERVICE_CHAIN_PREFIX = "KUBE-SVC-"
LOCAL_CHAIN_PREFIX = "KUBE-SVL-"
EXTERNAL_CHAIN_PREFIX = "KUBE-EXT-"
FIREWALL_CHAIN_PREFIX = "KUBE-FW-"
ENDPOINT_CHAIN_PREFIX = "KUBE-SEP-"


def service_port_name(namespace: str, service: str, port_name: str) -> str:
    """`ns/svc:port`, or `ns/svc` for an unnamed port (upstream ServicePortName.String)."""
    suffix = f":{port_name}" if port_name else ""
    return f"{namespace}/{service}{suffix}"


def endpoint_string(ip: str, port: int) -> str:
    """`ip:port`, or `[ip]:port` for IPv6 (upstream BaseEndpointInfo.String, net.JoinHostPort)."""
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def service_chain(port_name: str, protocol: str) -> str:
    """KUBE-SVC-… for a service port; `port_name` is service_port_name(), protocol e.g. "TCP"."""
    return SERVICE_CHAIN_PREFIX + _hash16(port_name + protocol.lower())


def local_chain(port_name: str, protocol: str) -> str:
    """KUBE-SVL-… (upstream servicePortPolicyLocalChainName)."""
    return LOCAL_CHAIN_PREFIX + _hash16(port_name + protocol.lower())


def external_chain(port_name: str, protocol: str) -> str:
    """KUBE-EXT-… (upstream serviceExternalChainName)."""
    return EXTERNAL_CHAIN_PREFIX + _hash16(port_name + protocol.lower())


def firewall_chain(port_name: str, protocol: str) -> str:
    """KUBE-FW-… (upstream serviceFirewallChainName)."""
    return FIREWALL_CHAIN_PREFIX + _hash16(port_name + protocol.lower())


def endpoint_chain(port_name: str, protocol: str, endpoint: str) -> str:
    """KUBE-SEP-… for one endpoint (`ip:port`) of a service port."""
    return ENDPOINT_CHAIN_PREFIX + _hash16(port_name + protocol.lower() + endpoint)


# Every sync names every chain of every Service again, on every node, and base32 of sha256
# was most of a render's cost at 1,000 Services; a name is a pure function of its text. One
# entry per service port and per endpoint of it; the bound keeps a long-lived control plane's
# memory flat (~230 bytes an entry) while endpoints come and go.
@functools.lru_cache(maxsize=65536)
def _hash16(text: str) -> str:
    digest = hashlib.sha256(text.encode()).digest()
    return base64.b32encode(digest).decode()[:16]
