"""netlab's own `Cluster` config: the nodes and address ranges of one lab (like kind's Cluster).

```yaml
apiVersion: netlab.dev/v1alpha1
kind: Cluster
metadata: {name: netlab}
spec:
  nodes: [{name: node-a, labels: {zone: a}}, {name: node-b}]
  ipFamily: dual                          # ipv4 (default) | ipv6 | dual, kind's names
  podCIDR: 10.244.0.0/16,fd00:10:244::/56  # one CIDR, or one per family (primary first)
  ...
```

Config is load -> default -> validate, and validation reports every problem at once. Unlike
manifests, an unknown field here is an error: this format is netlab's own, so it is a typo.
This module has ClusterConfig (its defaults, cross-field checks and computed helpers) and the
loaders; the field types and ClusterNode are in clusterfields.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from ipaddress import IPv4Address
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    StrictInt,
    StrictStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from netlab.api import clusterchecks, names
from netlab.api.clusterfields import (
    Address,
    CIDRs,
    ClusterNode,
    IPAddress,
    IPNetwork,
    _address_range,
    _networks,
    parse_address_ranges,
)
from netlab.api.documents import parse_documents
from netlab.api.families import (
    DEFAULT_NODE_MASK,
    DEFAULT_RANGES,
    HOST_UNDERLAY_OFFSET,
    IP_FAMILIES,
    NODE_UNDERLAY_OFFSET,
    underlay_host,
)
from netlab.api.field import (
    ProblemList,
    duplicate_value,
    field_error,
    invalid_value,
    problems_from_validation_error,
    required_value,
    unsupported_value,
)
from netlab.errors import InvalidInput, NotFound

CLUSTER_API_VERSION = "netlab.dev/v1alpha1"
CLUSTER_KIND = "Cluster"
DEFAULT_CLUSTER_NAME = "netlab"
CLUSTER_NAME_MAX_LENGTH = 12  # the name prefixes netns and link names, which the kernel limits
DEFAULT_NODE_COUNT = 2
CLUSTER_DNS_OFFSET = 10  # kubeadm's convention: the 10th address of the service range
# The default load-balancer pool, MetalLB-style, at the top of the underlay LAN: .200-.250 of a
# /24, clear of the host (.1) and the nodes (.11 up).
LB_POOL_OFFSETS = (200, 250)

# How pods on different nodes reach each other (lab/routing.py): flannel's host-gw and vxlan
# backends, or Calico's BGP node-to-node mesh with BIRD.
ROUTING_MODES = ("host-gw", "vxlan", "bgp")


# kube-proxy's proxy modes netlab renders (kind's `networking.kubeProxyMode` values). iptables
# stays the default, as upstream's.
KUBE_PROXY_MODES = ("iptables", "nftables")


def _kube_proxy_mode(value: Any) -> Any:
    if value == "ipvs":
        raise field_error(
            unsupported_value(
                value,
                list(KUBE_PROXY_MODES),
                "the ipvs mode is deprecated upstream (Kubernetes 1.35) and this kernel may lack ip_vs; "
                "use nftables, its successor for large clusters",
            )
        )
    return value


def default_node_name(index: int) -> str:
    """node-a … node-z, then node-27, node-28, …"""
    return f"node-{chr(ord('a') + index)}" if index < 26 else f"node-{index + 1}"


class ClusterConfig(BaseModel):
    """One lab's topology; field names are the document's `spec` keys (plus `name`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: StrictStr = DEFAULT_CLUSTER_NAME
    nodes: tuple[ClusterNode, ...] = tuple(
        ClusterNode(name=default_node_name(i)) for i in range(DEFAULT_NODE_COUNT)
    )
    ipFamily: Literal["ipv4", "ipv6", "dual"] = "ipv4"
    # One CIDR per family of ipFamily, primary first; defaulted from ipFamily (kind's defaults).
    podCIDR: CIDRs
    nodeCIDRMaskSize: StrictInt = DEFAULT_NODE_MASK[4]
    nodeCIDRMaskSizeIPv6: StrictInt = DEFAULT_NODE_MASK[6]
    serviceCIDR: CIDRs
    clusterDNS: Address  # defaults to the 10th address of the primary serviceCIDR
    underlayCIDR: CIDRs
    domain: StrictStr = "cluster.local"
    routing: Literal["host-gw", "vxlan", "bgp"] = "host-gw"
    kubeProxyMode: Annotated[Literal["iptables", "nftables"], BeforeValidator(_kube_proxy_mode)] = "iptables"
    # kube-apiserver's --service-node-port-range
    serviceNodePortRange: StrictStr = "30000-32767"
    # The addresses LoadBalancer Services get (MetalLB's IPAddressPool, L2 mode): inside the
    # underlay, so the host reaches them through its one veth. Defaults to .200-.250 of the
    # underlay (and ::200-::250 of an IPv6 one; ranges comma-separated); None (only for
    # underlays too small for that default) leaves them <pending>.
    loadBalancerPool: Annotated[StrictStr | None, BeforeValidator(_address_range)] = None

    # --- defaulting and single-field checks -----------------------------------------------------

    @model_validator(mode="before")
    @classmethod
    def _defaults(cls, data: Any) -> Any:
        """Ranges from ipFamily (kind's defaults), then clusterDNS and the pool from them."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        families = IP_FAMILIES.get(data.get("ipFamily", "ipv4"), (4,))
        for field, by_family in DEFAULT_RANGES.items():
            if data.get(field) is None:
                data[field] = ",".join(by_family[f] for f in families)
        if data.get("clusterDNS") is None:
            try:
                service_cidr = _networks(data["serviceCIDR"])[0]
                data["clusterDNS"] = service_cidr.network_address + CLUSTER_DNS_OFFSET
            except PydanticCustomError:  # the serviceCIDR field reports its own error
                data["clusterDNS"] = IPv4Address("10.96.0.10")
        if data.get("loadBalancerPool") is None:
            try:
                underlays = _networks(data["underlayCIDR"])
            except PydanticCustomError:  # the underlayCIDR field reports its own error
                return data
            first, last = LB_POOL_OFFSETS
            ranges = [
                f"{underlay_host(u, first)}-{underlay_host(u, last)}"
                for u in underlays
                if int(underlay_host(u, last)) < int(u.broadcast_address)
            ]
            if ranges:
                data["loadBalancerPool"] = ",".join(ranges)
        return data

    @field_validator("name")
    @classmethod
    def _cluster_name(cls, value: str) -> str:
        errors = names.dns1123_label_errors(value)
        if len(value) > CLUSTER_NAME_MAX_LENGTH:
            errors.insert(
                0,
                f"must be no more than {CLUSTER_NAME_MAX_LENGTH} characters "
                "(it prefixes the names of kernel objects)",
            )
        if errors:
            raise field_error(invalid_value(value, "; ".join(errors)))
        return value

    @field_validator("nodeCIDRMaskSize")
    @classmethod
    def _mask_size(cls, value: int) -> int:
        if not 1 <= value <= 30:
            raise field_error(invalid_value(value, "must be between 1 and 30, inclusive"))
        return value

    @field_validator("nodeCIDRMaskSizeIPv6")
    @classmethod
    def _mask_size_ipv6(cls, value: int) -> int:
        if not 1 <= value <= 126:
            raise field_error(invalid_value(value, "must be between 1 and 126, inclusive"))
        return value

    @field_validator("domain")
    @classmethod
    def _domain(cls, value: str) -> str:
        errors = names.dns1123_subdomain_errors(value)
        if errors:
            raise field_error(invalid_value(value, "; ".join(errors)))
        return value

    @field_validator("serviceNodePortRange")
    @classmethod
    def _port_range(cls, value: str) -> str:
        first, dash, last = value.partition("-")
        numeric = dash and first.isdigit() and last.isdigit()
        if not (numeric and 1 <= int(first) <= int(last) <= 65535):
            raise field_error(invalid_value(value, "must be a port range such as 30000-32767"))
        return value

    # --- cross-field checks ---------------------------------------------------------------------

    @model_validator(mode="after")
    def _cross_field(self) -> ClusterConfig:
        problems = ProblemList()
        self._check_nodes(problems)
        if clusterchecks.check_families(self, problems):
            clusterchecks.check_ranges(self, problems)
        problems.raise_if_any()
        return self

    def _check_nodes(self, problems: ProblemList) -> None:
        if not self.nodes:
            problems.add(("nodes",), required_value("a cluster needs at least one node"))
        seen: set[str] = set()
        for i, node in enumerate(self.nodes):
            if node.name in seen:
                problems.add(("nodes", i, "name"), duplicate_value(node.name))
            seen.add(node.name)

    # --- computed helpers -----------------------------------------------------------------------

    @property
    def node_names(self) -> tuple[str, ...]:
        return tuple(node.name for node in self.nodes)

    def node_index(self, node: str) -> int:
        try:
            return self.node_names.index(node)
        except ValueError:
            raise NotFound(f'node "{node}" is not part of cluster "{self.name}"') from None

    @property
    def families(self) -> tuple[int, ...]:
        """(4,), (6,), (4, 6) or (6, 4): the lab's IP families, primary first."""
        return tuple(n.version for n in self.podCIDR)

    def node_mask(self, family: int) -> int:
        return self.nodeCIDRMaskSize if family == 4 else self.nodeCIDRMaskSizeIPv6

    def underlay_for(self, family: int) -> IPNetwork | None:
        return next((n for n in self.underlayCIDR if n.version == family), None)

    def node_pod_cidrs(self, index: int) -> tuple[IPNetwork, ...]:
        """Node `index` (0-based) gets the (index + 1)th /nodeCIDRMaskSize of each podCIDR."""
        subnets = []
        for pod_cidr in self.podCIDR:
            mask = self.node_mask(pod_cidr.version)
            size = 2 ** (pod_cidr.max_prefixlen - mask)
            start = pod_cidr.network_address + (index + 1) * size
            subnets.append(type(pod_cidr)(f"{start}/{mask}"))
        return tuple(subnets)

    def node_pod_cidr(self, index: int) -> IPNetwork:
        """The node's subnet of the primary family."""
        return self.node_pod_cidrs(index)[0]

    def node_subnets(self) -> dict[str, IPNetwork]:
        return {node: self.node_pod_cidr(i) for i, node in enumerate(self.node_names)}

    @property
    def host_underlay_ips(self) -> tuple[IPAddress, ...]:
        return tuple(underlay_host(u, HOST_UNDERLAY_OFFSET) for u in self.underlayCIDR)

    @property
    def host_underlay_ip(self) -> IPAddress:
        return self.host_underlay_ips[0]

    def node_underlay_ips(self, node: str) -> tuple[IPAddress, ...]:
        index = self.node_index(node)
        return tuple(underlay_host(u, NODE_UNDERLAY_OFFSET + index) for u in self.underlayCIDR)

    def node_underlay_ip(self, node: str) -> IPAddress:
        return self.node_underlay_ips(node)[0]

    @property
    def cluster_dns_ips(self) -> tuple[IPAddress, ...]:
        """The DNS Service's address in each family: clusterDNS, then the 10th of the other range."""
        others = tuple(
            n.network_address + CLUSTER_DNS_OFFSET for n in self.serviceCIDR if n.version != self.clusterDNS.version
        )
        return (self.clusterDNS, *others)

    def node_labels(self, node: str) -> dict[str, str]:
        """The labels a scheduler matches nodeSelector against, with the well-known ones."""
        own = self.nodes[self.node_index(node)].labels
        return {"kubernetes.io/hostname": node, "kubernetes.io/os": "linux", **own}

    @property
    def node_port_range(self) -> range:
        first, _, last = self.serviceNodePortRange.partition("-")
        return range(int(first), int(last) + 1)

    @property
    def load_balancer_ranges(self) -> tuple[tuple[IPAddress, IPAddress], ...]:
        """(first, last) of each range of the load-balancer pool; empty without a pool."""
        if self.loadBalancerPool is None:
            return ()
        return parse_address_ranges(self.loadBalancerPool)

    def load_balancer_range_for(self, family: int) -> tuple[IPAddress, IPAddress] | None:
        return next((r for r in self.load_balancer_ranges if r[0].version == family), None)

    @property
    def load_balancer_range(self) -> tuple[IPAddress, IPAddress] | None:
        """(first, last) of the primary family's load-balancer range, or None without one."""
        return self.load_balancer_range_for(self.families[0])

    def to_document(self) -> dict[str, Any]:
        """The config as a `kind: Cluster` document (what load_cluster_config reads)."""
        spec = self.model_dump(mode="json", exclude={"name"})
        for field in ("podCIDR", "serviceCIDR", "underlayCIDR"):
            spec[field] = ",".join(spec[field])
        for node in spec["nodes"]:
            if not node["labels"]:
                del node["labels"]
        return {
            "apiVersion": CLUSTER_API_VERSION,
            "kind": CLUSTER_KIND,
            "metadata": {"name": self.name},
            "spec": spec,
        }


def default_cluster(
    name: str = DEFAULT_CLUSTER_NAME,
    nodes: int | None = None,
    kube_proxy_mode: str | None = None,
    routing: str | None = None,
    ip_family: str | None = None,
) -> ClusterConfig:
    """The default lab: `nodes` nodes (2 if not given) named node-a, node-b, …"""
    count = DEFAULT_NODE_COUNT if nodes is None else nodes
    data: dict[str, Any] = {"name": name, "nodes": [{"name": default_node_name(i)} for i in range(count)]}
    if kube_proxy_mode is not None:
        data["kubeProxyMode"] = kube_proxy_mode
    if routing is not None:
        data["routing"] = routing
    if ip_family is not None:
        data["ipFamily"] = ip_family
    return _validated(data, f"Cluster {name}")


def with_ip_family(document: dict[str, Any], old_defaults: ClusterConfig, ip_family: str) -> dict[str, Any]:
    """The document with spec.ipFamily changed; the ranges it holds only because they were
    the old family's defaults are dropped, so they default again for the new family."""
    spec = dict(document.get("spec") or {})
    defaults = old_defaults.to_document()["spec"]
    for field in ("podCIDR", "serviceCIDR", "underlayCIDR", "clusterDNS", "loadBalancerPool"):
        if field in spec and spec[field] == defaults.get(field):
            del spec[field]
    spec["ipFamily"] = ip_family
    return {**document, "spec": spec}


def cluster_from_document(document: Any, source: str = "<config>") -> ClusterConfig:
    """Validate a parsed `kind: Cluster` document; raise InvalidInput with every problem."""
    if not isinstance(document, Mapping):
        got = type(document).__name__
        raise InvalidInput(f"{source}: expected a Cluster document (a map), got {got}")
    problems = []
    metadata = document.get("metadata") or {}
    spec = document.get("spec") or {}
    name = metadata.get("name", DEFAULT_CLUSTER_NAME) if isinstance(metadata, Mapping) else None
    subject = f"{source}: Cluster {name}" if isinstance(name, str) else f"{source}: Cluster"
    if document.get("apiVersion") != CLUSTER_API_VERSION:
        message = unsupported_value(document.get("apiVersion"), [CLUSTER_API_VERSION])
        problems.append(f"{subject}: apiVersion: {message}")
    if document.get("kind") != CLUSTER_KIND:
        message = unsupported_value(document.get("kind"), [CLUSTER_KIND])
        problems.append(f"{subject}: kind: {message}")
    if not isinstance(metadata, Mapping):
        problems.append(f"{subject}: metadata: {invalid_value(metadata, 'must be a map')}")
    if not isinstance(spec, Mapping):
        problems.append(f"{subject}: spec: {invalid_value(spec, 'must be a map')}")
    for key in set(document) - {"apiVersion", "kind", "metadata", "spec"}:
        problems.append(f"{subject}: {key}: Unsupported field: not a setting netlab knows")
    if problems:
        raise InvalidInput(problems)
    return _validated({"name": name, **spec}, subject)


def load_cluster_config(path: str) -> ClusterConfig:
    """Read a Cluster config file; errors name the file and the field."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot read: {exc.strerror or exc}") from None
    documents = [d for d in parse_documents(path, text) if d is not None]
    if len(documents) != 1:
        raise InvalidInput(f"{path}: expected one Cluster document, found {len(documents)}")
    return cluster_from_document(documents[0], path)


def _validated(data: dict[str, Any], subject: str) -> ClusterConfig:
    try:
        return ClusterConfig.model_validate(data)
    except ValidationError as exc:
        lines = []
        for problem in problems_from_validation_error(exc):
            # The model is flat; the document keeps the name in metadata, the rest in spec.
            section = "metadata" if problem.path.split(".")[0] == "name" else "spec"
            path = f"{section}.{problem.path}".rstrip(".")
            lines.append(f"{subject}: {path}: {problem.message}")
        raise InvalidInput(lines) from None

