"""netlab's own `Cluster` config: the nodes and address ranges of one lab (like kind's Cluster).

```yaml
apiVersion: netlab.dev/v1alpha1
kind: Cluster
metadata: {name: netlab}
spec:
  nodes: [{name: node-a, labels: {zone: a}}, {name: node-b}]
  podCIDR: 10.244.0.0/16
  ...
```

Config is load -> default -> validate, and validation reports every problem at once. Unlike
manifests, an unknown field here is an error: this format is netlab's own, so it is a typo.
This module has ClusterConfig (its defaults, cross-field checks and computed helpers) and the
loaders; the field types and ClusterNode are in clusterfields.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from ipaddress import IPv4Address, IPv4Network
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

from netlab.api import names
from netlab.api.clusterfields import CIDR, Address, ClusterNode, _address_range, _network, parse_address_range
from netlab.api.field import (
    ProblemList,
    duplicate_value,
    field_error,
    invalid_value,
    problems_from_validation_error,
    required_value,
    unsupported_value,
)
from netlab.api.loader import parse_documents
from netlab.errors import InvalidInput, NotFound

CLUSTER_API_VERSION = "netlab.dev/v1alpha1"
CLUSTER_KIND = "Cluster"
DEFAULT_CLUSTER_NAME = "netlab"
CLUSTER_NAME_MAX_LENGTH = 12  # the name prefixes netns and link names, which the kernel limits
DEFAULT_NODE_COUNT = 2
# The underlay is a flat /24-style LAN: the host is .1, node i is .(11 + i), like a rack where
# the low addresses belong to infrastructure.
HOST_UNDERLAY_OFFSET = 1
NODE_UNDERLAY_OFFSET = 11
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
    podCIDR: CIDR = IPv4Network("10.244.0.0/16")
    nodeCIDRMaskSize: StrictInt = 24
    serviceCIDR: CIDR = IPv4Network("10.96.0.0/12")
    clusterDNS: Address  # defaults to the 10th address of serviceCIDR
    underlayCIDR: CIDR = IPv4Network("172.31.255.0/24")
    domain: StrictStr = "cluster.local"
    routing: Literal["host-gw", "vxlan", "bgp"] = "host-gw"
    kubeProxyMode: Annotated[Literal["iptables", "nftables"], BeforeValidator(_kube_proxy_mode)] = "iptables"
    # kube-apiserver's --service-node-port-range
    serviceNodePortRange: StrictStr = "30000-32767"
    # The addresses LoadBalancer Services get (MetalLB's IPAddressPool, L2 mode): inside the
    # underlay, so the host reaches them through its one veth. Defaults to .200-.250 of the
    # underlay; None (only for underlays too small for that default) leaves them <pending>.
    loadBalancerPool: Annotated[StrictStr | None, BeforeValidator(_address_range)] = None

    # --- defaulting and single-field checks -----------------------------------------------------

    @model_validator(mode="before")
    @classmethod
    def _default_cluster_dns(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("clusterDNS") is None:
            try:
                service_cidr = _network(data.get("serviceCIDR", "10.96.0.0/12"))
                dns = service_cidr.network_address + CLUSTER_DNS_OFFSET
            except PydanticCustomError:  # the serviceCIDR field reports its own error
                dns = IPv4Address("10.96.0.10")
            return {**data, "clusterDNS": dns}
        return data

    @model_validator(mode="before")
    @classmethod
    def _default_lb_pool(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("loadBalancerPool") is None:
            try:
                underlay = _network(data.get("underlayCIDR", "172.31.255.0/24"))
            except PydanticCustomError:  # the underlayCIDR field reports its own error
                return data
            first, last = LB_POOL_OFFSETS
            if underlay.num_addresses > last + 1:
                pool = f"{underlay.network_address + first}-{underlay.network_address + last}"
                return {**data, "loadBalancerPool": pool}
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
        self._check_ranges(problems)
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

    def _check_ranges(self, problems: ProblemList) -> None:
        ranges = {
            "podCIDR": self.podCIDR,
            "serviceCIDR": self.serviceCIDR,
            "underlayCIDR": self.underlayCIDR,
        }
        fields = list(ranges)
        for i, field in enumerate(fields):
            for other in fields[:i]:
                if ranges[field].overlaps(ranges[other]):
                    problems.add(
                        (field,),
                        invalid_value(str(ranges[field]), f"overlaps spec.{other} {ranges[other]}"),
                    )
        count = len(self.nodes)
        if self.nodeCIDRMaskSize <= self.podCIDR.prefixlen:
            problems.add(
                ("nodeCIDRMaskSize",),
                invalid_value(
                    self.nodeCIDRMaskSize,
                    f"must be longer than the podCIDR's prefix /{self.podCIDR.prefixlen}",
                ),
            )
        else:
            # Subnet 0 stays unused, as flannel leaves it, so node i gets subnet i + 1.
            room = 2 ** (self.nodeCIDRMaskSize - self.podCIDR.prefixlen) - 1
            if count > room:
                problems.add(
                    ("podCIDR",),
                    invalid_value(
                        str(self.podCIDR),
                        f"has room for {room} node subnets of /{self.nodeCIDRMaskSize}, "
                        f"but the cluster has {count} nodes",
                    ),
                )
        if self.clusterDNS not in self.serviceCIDR or self.clusterDNS in (
            self.serviceCIDR.network_address,
            self.serviceCIDR.broadcast_address,
        ):
            problems.add(
                ("clusterDNS",),
                invalid_value(
                    str(self.clusterDNS),
                    f"must be a host address inside spec.serviceCIDR {self.serviceCIDR}",
                ),
            )
        self._check_lb_pool(problems)
        last_usable = self.underlayCIDR.num_addresses - 2
        room = max(0, last_usable - NODE_UNDERLAY_OFFSET + 1)
        if count > room:
            problems.add(
                ("underlayCIDR",),
                invalid_value(
                    str(self.underlayCIDR),
                    f"has room for {room} nodes (node addresses start at .{NODE_UNDERLAY_OFFSET}), "
                    f"but the cluster has {count} nodes",
                ),
            )

    def _check_lb_pool(self, problems: ProblemList) -> None:
        pool = self.load_balancer_range
        if pool is None:
            return
        first, last = pool
        underlay = self.underlayCIDR
        usable = (underlay.network_address + 1, underlay.broadcast_address - 1)
        if not (usable[0] <= first and last <= usable[1]):
            problems.add(
                ("loadBalancerPool",),
                invalid_value(
                    self.loadBalancerPool,
                    f"must lie inside spec.underlayCIDR {underlay} (host addresses {usable[0]}-{usable[1]}), "
                    "so the host reaches it through its veth into the lab",
                ),
            )
            return
        infrastructure = [self.host_underlay_ip]
        infrastructure += [
            underlay.network_address + NODE_UNDERLAY_OFFSET + i for i in range(len(self.nodes))
        ]
        clashes = [str(ip) for ip in infrastructure if first <= ip <= last]
        if clashes:
            problems.add(
                ("loadBalancerPool",),
                invalid_value(
                    self.loadBalancerPool,
                    f"includes the host's or a node's underlay address ({', '.join(clashes)})",
                ),
            )

    # --- computed helpers -----------------------------------------------------------------------

    @property
    def node_names(self) -> tuple[str, ...]:
        return tuple(node.name for node in self.nodes)

    def node_index(self, node: str) -> int:
        try:
            return self.node_names.index(node)
        except ValueError:
            raise NotFound(f'node "{node}" is not part of cluster "{self.name}"') from None

    def node_pod_cidr(self, index: int) -> IPv4Network:
        """Node `index` (0-based) gets the (index + 1)th /nodeCIDRMaskSize of podCIDR."""
        size = 2 ** (32 - self.nodeCIDRMaskSize)
        start = self.podCIDR.network_address + (index + 1) * size
        return IPv4Network(f"{start}/{self.nodeCIDRMaskSize}")

    def node_subnets(self) -> dict[str, IPv4Network]:
        return {node: self.node_pod_cidr(i) for i, node in enumerate(self.node_names)}

    @property
    def host_underlay_ip(self) -> IPv4Address:
        return self.underlayCIDR.network_address + HOST_UNDERLAY_OFFSET

    def node_underlay_ip(self, node: str) -> IPv4Address:
        return self.underlayCIDR.network_address + NODE_UNDERLAY_OFFSET + self.node_index(node)

    def node_labels(self, node: str) -> dict[str, str]:
        """The labels a scheduler matches nodeSelector against, with the well-known ones."""
        own = self.nodes[self.node_index(node)].labels
        return {"kubernetes.io/hostname": node, "kubernetes.io/os": "linux", **own}

    @property
    def node_port_range(self) -> range:
        first, _, last = self.serviceNodePortRange.partition("-")
        return range(int(first), int(last) + 1)

    @property
    def load_balancer_range(self) -> tuple[IPv4Address, IPv4Address] | None:
        """(first, last) address of the load-balancer pool, or None without a pool."""
        if self.loadBalancerPool is None:
            return None
        return parse_address_range(self.loadBalancerPool)

    def to_document(self) -> dict[str, Any]:
        """The config as a `kind: Cluster` document (what load_cluster_config reads)."""
        spec = self.model_dump(mode="json", exclude={"name"})
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
) -> ClusterConfig:
    """The default lab: `nodes` nodes (2 if not given) named node-a, node-b, …"""
    count = DEFAULT_NODE_COUNT if nodes is None else nodes
    data: dict[str, Any] = {"name": name, "nodes": [{"name": default_node_name(i)} for i in range(count)]}
    if kube_proxy_mode is not None:
        data["kubeProxyMode"] = kube_proxy_mode
    if routing is not None:
        data["routing"] = routing
    return _validated(data, f"Cluster {name}")


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

