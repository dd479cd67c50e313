"""What kube-proxy needs to know: service ports with their endpoints, and the node's proxy config.

These mirror kube-proxy's own inputs (`ServicePortInfo`, upstream's concrete `proxy.ServicePort`,
and `proxy.Endpoint`, built from Services and EndpointSlices, and the `--cluster-cidr` /
`--iptables-masquerade-bit` flags), flattened to what the iptables renderer uses. Each object checks its own fields, so a bad value fails here with a clear
message instead of as an iptables-restore parse error on some node.

Upstream runs one proxier per IP family (a dual-stack node has an IPv4 and an IPv6 one, behind
its MetaProxier), each seeing only its family's cluster IPs, endpoints, external addresses and
source ranges. So here: a `ServicePortInfo` is of one family (its cluster IP's) and every address
in it must be of that family; a `ProxyConfig` names the family it renders (`family`, 4 or 6).
"""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass

from netlab.errors import InvalidInput
from netlab.proxy import names

PROTOCOLS = ("TCP", "UDP", "SCTP")
TRAFFIC_POLICIES = ("Cluster", "Local")
AFFINITIES = ("None", "ClientIP")
# The apiserver's default sessionAffinityConfig.clientIP.timeoutSeconds (3 hours).
DEFAULT_STICKY_SECONDS = 10800

# A Service with no cluster IP ("None" = headless) is skipped by kube-proxy
# (proxyutil.ShouldSkipService): DNS answers with the pod IPs instead.
HEADLESS_CLUSTER_IPS = ("", "None")


@dataclass(frozen=True)
class Endpoint:
    ip: str
    port: int
    node: str  # node hosting the endpoint pod (for future Local traffic policy)
    ready: bool = True
    pod: str = ""  # "ns/name", for comments/debug only

    def __post_init__(self) -> None:
        problems = _ip_problems(self.ip, f"endpoint {self.pod or self.ip}: ip")
        problems += _port_problems(self.port, f"endpoint {self.pod or self.ip}: port")
        if problems:
            raise InvalidInput(problems)

    @property
    def address(self) -> str:
        """`ip:port` (`[ip]:port` in IPv6), upstream's endpoint string (BaseEndpointInfo.String)."""
        return names.endpoint_string(self.ip, self.port)

    @property
    def family(self) -> int:
        return _ip_version(self.ip) or 4


@dataclass(frozen=True)
class ServicePortInfo:
    namespace: str
    service: str
    port_name: str  # "" when the port is unnamed
    protocol: str  # "TCP" | "UDP" | "SCTP"
    cluster_ip: str  # "None" or "" for a headless Service (no rules)
    port: int
    endpoints: tuple[Endpoint, ...] = ()
    # The rest of upstream's servicePortInfo: how the port is reached from outside the
    # cluster and how traffic is spread over its endpoints.
    node_port: int = 0  # 0 = none
    external_ips: tuple[str, ...] = ()  # spec.externalIPs
    load_balancer_ips: tuple[str, ...] = ()  # status.loadBalancer.ingress[].ip
    load_balancer_source_ranges: tuple[str, ...] = ()  # spec.loadBalancerSourceRanges
    external_traffic_policy: str = "Cluster"
    internal_traffic_policy: str = "Cluster"
    session_affinity: str = "None"
    sticky_max_age_seconds: int = DEFAULT_STICKY_SECONDS

    def __post_init__(self) -> None:
        where = f"service {self.namespace}/{self.service} port {self.port_name or self.port}"
        problems = []
        if self.protocol not in PROTOCOLS:
            problems.append(f"{where}: protocol {self.protocol!r} is not one of {', '.join(PROTOCOLS)}")
        family = self.family
        if not self.headless:
            problems += _ip_problems(self.cluster_ip, f"{where}: clusterIP")
        problems += _port_problems(self.port, f"{where}: port")
        if self.node_port:
            problems += _port_problems(self.node_port, f"{where}: nodePort")
        for ip in (*self.external_ips, *self.load_balancer_ips):
            problems += _ip_problems(ip, f"{where}: external address", family)
        for e in self.endpoints:
            if e.family != family:
                problems.append(f"{where}: endpoint {e.ip!r} is not IPv{family}, the family of the cluster IP")
        for cidr in self.load_balancer_source_ranges:
            problems += _network_problems(cidr, f"{where}: loadBalancerSourceRanges", family)
        for value, allowed, what in (
            (self.external_traffic_policy, TRAFFIC_POLICIES, "externalTrafficPolicy"),
            (self.internal_traffic_policy, TRAFFIC_POLICIES, "internalTrafficPolicy"),
            (self.session_affinity, AFFINITIES, "sessionAffinity"),
        ):
            if value not in allowed:
                problems.append(f"{where}: {what} {value!r} is not one of {', '.join(allowed)}")
        if not 0 < self.sticky_max_age_seconds <= 86400:
            problems.append(f"{where}: session affinity timeout {self.sticky_max_age_seconds} is not in 1..86400")
        if problems:
            raise InvalidInput(problems)

    @property
    def name(self) -> str:
        """`ns/svc:port`, upstream's ServicePortName.String(), used in hashes and comments."""
        return names.service_port_name(self.namespace, self.service, self.port_name)

    @property
    def headless(self) -> bool:
        return self.cluster_ip in HEADLESS_CLUSTER_IPS

    @property
    def family(self) -> int:
        """4 or 6: the family of the cluster IP, which every other address must share (a
        headless port counts as 4; it gets no rules)."""
        return (not self.headless and _ip_version(self.cluster_ip)) or 4

    @property
    def externally_accessible(self) -> bool:
        """Upstream ExternallyAccessible: a NodePort, a load-balancer IP or an external IP."""
        return bool(self.node_port or self.load_balancer_ips or self.external_ips)

    @property
    def external_policy_local(self) -> bool:
        return self.externally_accessible and self.external_traffic_policy == "Local"

    @property
    def internal_policy_local(self) -> bool:
        return self.internal_traffic_policy == "Local"

    @property
    def uses_cluster_endpoints(self) -> bool:
        # Upstream UsesClusterEndpoints: any "Cluster" policy, or a Local external policy
        # (its short-circuit rules for pod and node traffic use the Cluster chain).
        return not self.internal_policy_local or self.externally_accessible

    @property
    def uses_local_endpoints(self) -> bool:
        return self.internal_policy_local or self.external_policy_local

    @property
    def client_ip_affinity(self) -> bool:
        return self.session_affinity == "ClientIP"

    @property
    def ready_endpoints(self) -> tuple[Endpoint, ...]:
        """The endpoints traffic may go to, in upstream's order (sorted by `ip:port` string).

        kube-proxy's "Cluster" traffic policy uses only ready endpoints
        (proxy.CategorizeEndpoints); the endpoint slice cache sorts them by their string.
        """
        return tuple(sorted((e for e in self.endpoints if e.ready), key=lambda e: e.address))


@dataclass(frozen=True)
class ProxyConfig:
    cluster_cidr: str  # pod CIDR, e.g. 10.244.0.0/16 (kube-proxy --cluster-cidr)
    masquerade_bit: int = 14  # kube-proxy --iptables-masquerade-bit; mark 0x4000
    # The node this kube-proxy runs on (--hostname-override, --bind-address): "Local" traffic
    # policies pick the endpoints on this node, and loadBalancerSourceRanges that contain the
    # node's IP also let the node reach the load-balancer IP.
    node_name: str = ""
    node_ip: str = ""
    # kube-apiserver's service range; nftables mode drops traffic to its unallocated addresses
    # (upstream OnServiceCIDRsChanged). "" = not known: no such rule.
    service_cidr: str = ""
    # The IP family this proxier renders (upstream NewProxier's ipFamily): 4 → iptables /
    # `ip kube-proxy`, 6 → ip6tables / `ip6 kube-proxy`. Every address above is of it.
    family: int = 4

    def __post_init__(self) -> None:
        problems = []
        if self.family not in (4, 6):
            raise InvalidInput(f"IP family {self.family!r} is not 4 or 6")
        try:
            net = ipaddress.ip_network(self.cluster_cidr)
            if net.version != self.family:
                problems.append(f"cluster CIDR {self.cluster_cidr!r} is not IPv{self.family}")
        except ValueError as err:
            problems.append(f"cluster CIDR {self.cluster_cidr!r} is not a network: {err}")
        # Same range as kube-proxy's config validation (0..31).
        if not 0 <= self.masquerade_bit <= 31:
            problems.append(f"masquerade bit {self.masquerade_bit} is not in 0..31")
        if self.node_ip:
            problems += _ip_problems(self.node_ip, "node IP", self.family)
        if self.service_cidr:
            problems += _network_problems(self.service_cidr, "service CIDR", self.family)
        if problems:
            raise InvalidInput(problems)

    @property
    def masquerade_mark(self) -> str:
        """The SNAT mark as iptables prints it, e.g. `0x4000` for bit 14."""
        return hex(1 << self.masquerade_bit)


def _ip_problems(value: str, what: str, family: int | None = None) -> list[str]:
    """Nothing when `value` is an IP address (of `family`, when given)."""
    version = _ip_version(value)
    if version is None:
        return [f"{what} {value!r} is not an IP address"]
    if family is not None and version != family:
        return [f"{what} {value!r} is not IPv{family}"]
    return []


# Every sync checks every cluster IP and endpoint IP again (the inputs are rebuilt from the
# store each time), and parsing them was a third of building the inputs at 1,000 Services.
# ~140 bytes an entry.
@functools.lru_cache(maxsize=16384)
def _ip_version(value: str) -> int | None:
    """4 or 6, None for what is not an IP address."""
    try:
        return ipaddress.ip_address(value).version
    except ValueError:
        return None


def _network_problems(value: str, what: str, family: int) -> list[str]:
    try:
        if ipaddress.ip_network(value, strict=True).version == family:
            return []
        return [f"{what} {value!r} is not IPv{family}"]
    except ValueError as err:
        return [f"{what} {value!r} is not a network: {err}"]


def _port_problems(value: int, what: str) -> list[str]:
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535:
        return []
    return [f"{what} {value!r} is not in 1..65535"]
