"""What the NetworkPolicy agent knows, and the spec's rules over it (pure).

The inputs are flattened from the API objects: pods with their labels, IP, node and declared
ports; namespaces with their labels (including `kubernetes.io/metadata.name`); policies with
their selectors compiled. The functions below are the semantics of networking.k8s.io/v1 as
the API reference states them, shared by the iptables renderer and by `policy explain`:

- a policy selects pods of its own namespace by `podSelector` (empty: all of them);
- a pod is isolated for ingress (egress) once any policy selecting it lists that direction in
  `policyTypes`, and then only the union of those policies' rules of that direction is allowed;
- a rule allows a connection when one of its peers matches the other end (no peers: anyone)
  and one of its ports matches (no ports: any port, any protocol);
- a peer is `podSelector` (pods of the policy's namespace), `namespaceSelector` (all pods of
  the matching namespaces), both (pods matching in namespaces matching: AND), or `ipBlock`
  (addresses in `cidr` but not in any `except`, pod addresses included);
- a named port is looked up among the destination pod's container ports of that protocol.

Dual-stack: a policy selects pods, not addresses, so it holds in both families; each family's
rules use the pods' addresses of that family, and an `ipBlock` only ever matches addresses of
its own CIDR's family (an IPv6 block allows nothing over IPv4, and the reverse).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Network, IPv6Network
from typing import Literal

from netlab.api.labels import Selector
from netlab.api.networkpolicy import NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort

Direction = Literal["ingress", "egress"]
ALL_PORTS = (1, 65535)


@dataclass(frozen=True)
class PolicyPod:
    namespace: str
    name: str
    labels: Mapping[str, str] = field(hash=False)
    ip: str
    node: str
    ports: tuple[tuple[str | None, int, str], ...] = ()  # (name, containerPort, protocol)
    ips: tuple[str, ...] = ()  # status.podIPs, primary first; () means just `ip`

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def ip_for(self, family: int) -> str | None:
        """The pod's address in IP family 4 or 6; None when it has none there."""
        return next((a for a in self.ips or (self.ip,) if ip_family(a) == family), None)

    def named_port(self, name: str, protocol: str) -> int | None:
        """The container port called `name` with this protocol (podutil.FindPort upstream)."""
        return next((number for n, number, proto in self.ports if n == name and proto == protocol), None)


@dataclass(frozen=True)
class PortRange:
    """One resolved entry of a rule's ports: a protocol and an inclusive range."""

    protocol: str  # TCP | UDP
    first: int
    last: int

    @property
    def any_port(self) -> bool:
        return (self.first, self.last) == ALL_PORTS

    def covers(self, protocol: str, port: int) -> bool:
        return protocol == self.protocol and self.first <= port <= self.last

    def __str__(self) -> str:
        if self.any_port:
            return f"any {self.protocol} port"
        if self.first == self.last:
            return f"{self.first}/{self.protocol}"
        return f"{self.first}-{self.last}/{self.protocol}"


@dataclass(frozen=True)
class PolicyPort:
    protocol: str
    port: int | str | None  # None: every port of the protocol
    end_port: int | None = None

    def resolve(self, destination: PolicyPod | None) -> PortRange | None:
        """The range this entry allows towards `destination`; None when a named port cannot be
        resolved there (the pod does not declare it, or the destination is not a pod)."""
        if self.port is None:
            return PortRange(self.protocol, *ALL_PORTS)
        if isinstance(self.port, int):
            return PortRange(self.protocol, self.port, self.end_port or self.port)
        number = destination.named_port(self.port, self.protocol) if destination else None
        return PortRange(self.protocol, number, number) if number is not None else None

    def __str__(self) -> str:
        if self.port is None:
            return f"any {self.protocol} port"
        if self.end_port:
            return f"{self.port}-{self.end_port}/{self.protocol}"
        return f"{self.port}/{self.protocol}"


@dataclass(frozen=True)
class Peer:
    pods: Selector | None = None  # podSelector; None: not given
    namespaces: Selector | None = None  # namespaceSelector; None: not given
    block: IPv4Network | IPv6Network | None = None  # ipBlock.cidr
    excepted: tuple[IPv4Network | IPv6Network, ...] = ()  # ipBlock.except

    @property
    def is_block(self) -> bool:
        return self.block is not None

    def contains_ip(self, ip: str) -> bool:
        if self.block is None or not ip:
            return False
        address = ipaddress.ip_address(ip)
        if address.version != self.block.version:
            return False  # an ipBlock matches only addresses of its own family
        return address in self.block and not any(address in e for e in self.excepted)

    def networks(self, family: int | None = None) -> tuple[IPv4Network | IPv6Network, ...]:
        """The ipBlock as plain networks: `cidr` with every `except` cut out (none when the
        block is not of `family`)."""
        assert self.block is not None
        if family is not None and self.block.version != family:
            return ()
        parts = [self.block]
        for hole in self.excepted:
            kept: list[IPv4Network | IPv6Network] = []
            for net in parts:
                if hole.subnet_of(net):
                    kept.extend(net.address_exclude(hole))
                elif not net.subnet_of(hole):
                    kept.append(net)
            parts = kept
        return tuple(ipaddress.collapse_addresses(parts))

    def __str__(self) -> str:
        if self.block is not None:
            excepted = f" except {', '.join(map(str, self.excepted))}" if self.excepted else ""
            return f"ipBlock {self.block}{excepted}"
        words = []
        if self.namespaces is not None:
            words.append(f"namespaces {_selector_words(self.namespaces)}")
        if self.pods is not None:
            words.append(f"pods {_selector_words(self.pods)}")
        if self.namespaces is None:
            words.append("in the policy's namespace")
        return " ".join(words)


@dataclass(frozen=True)
class PolicyRule:
    ports: tuple[PolicyPort, ...] = ()  # empty: every port and protocol
    peers: tuple[Peer, ...] = ()  # empty: every peer


@dataclass(frozen=True)
class Policy:
    namespace: str
    name: str
    selector: Selector
    ingress: tuple[PolicyRule, ...] | None  # None: the policy does not isolate ingress
    egress: tuple[PolicyRule, ...] | None

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def rules(self, direction: Direction) -> tuple[PolicyRule, ...] | None:
        return self.ingress if direction == "ingress" else self.egress

    def selects(self, pod: PolicyPod) -> bool:
        return pod.namespace == self.namespace and self.selector.matches(pod.labels)


@dataclass(frozen=True)
class PolicyInputs:
    """Everything the agent looks at; `namespaces` maps a name to its labels."""

    pods: tuple[PolicyPod, ...]
    namespaces: Mapping[str, Mapping[str, str]] = field(hash=False)
    policies: tuple[Policy, ...]

    def pod(self, key: str) -> PolicyPod | None:
        return next((p for p in self.pods if p.key == key), None)


# --- from the API object -----------------------------------------------------------------------


def policy_from_api(np: NetworkPolicy) -> Policy:
    spec = np.spec
    return Policy(
        namespace=np.metadata.namespace or "default",
        name=np.metadata.name,
        selector=spec.podSelector.selector(),
        ingress=tuple(_rule(r.ports, r.from_) for r in spec.ingress) if spec.isolates_ingress else None,
        egress=tuple(_rule(r.ports, r.to) for r in spec.egress) if spec.isolates_egress else None,
    )


def _rule(ports: Iterable[NetworkPolicyPort], peers: Iterable[NetworkPolicyPeer]) -> PolicyRule:
    return PolicyRule(
        ports=tuple(PolicyPort(p.protocol, p.port, p.endPort) for p in ports),
        peers=tuple(_peer(p) for p in peers),
    )


def _peer(peer: NetworkPolicyPeer) -> Peer:
    if peer.ipBlock is not None:
        return Peer(block=peer.ipBlock.network, excepted=peer.ipBlock.excepted)
    return Peer(
        pods=peer.podSelector.selector() if peer.podSelector is not None else None,
        namespaces=peer.namespaceSelector.selector() if peer.namespaceSelector is not None else None,
    )


# --- the semantics ------------------------------------------------------------------------------


def sorted_policies(policies: Iterable[Policy]) -> list[Policy]:
    return sorted(policies, key=lambda p: (p.namespace, p.name))


def isolating(inputs: PolicyInputs, pod: PolicyPod, direction: Direction) -> list[Policy]:
    """The policies that select `pod` and isolate it in `direction` (empty: not isolated)."""
    return [p for p in sorted_policies(inputs.policies) if p.rules(direction) is not None and p.selects(pod)]


def peer_pods(peer: Peer, policy_namespace: str, inputs: PolicyInputs, family: int | None = None) -> list[PolicyPod]:
    """The pods a selector peer matches (for an ipBlock: the pods with an address inside, of
    `family` when given)."""
    if peer.is_block:
        return [
            p for p in inputs.pods
            if any(peer.contains_ip(a) for a in p.ips or (p.ip,) if family is None or ip_family(a) == family)
        ]  # fmt: skip
    if peer.namespaces is None:
        namespaces = {policy_namespace}
    else:
        namespaces = {n for n, labels in inputs.namespaces.items() if peer.namespaces.matches(labels)}
    return [
        p for p in inputs.pods if p.namespace in namespaces and (peer.pods is None or peer.pods.matches(p.labels))
    ]


def peer_matches(peer: Peer, policy_namespace: str, inputs: PolicyInputs, other: PolicyPod | None, ip: str) -> bool:
    """Whether the other end of a connection (a pod, or just an address) is this peer."""
    if peer.is_block:
        return peer.contains_ip(ip)
    return other is not None and other in peer_pods(peer, policy_namespace, inputs)


def ip_family(address: str) -> int:
    """4 or 6 for an address netlab already validated (cheaper than parsing it again)."""
    return 6 if ":" in address else 4


def _selector_words(selector: Selector) -> str:
    return "(all)" if selector.empty else str(selector)


@dataclass(frozen=True)
class FilterRules:
    """Filter-table rules another node agent loads in the same payload (the NetworkPolicy agent).

    `forward_jumps` are complete `-A FORWARD …` lines placed before kube-proxy's own jumps,
    so that agent judges a packet before KUBE-FORWARD accepts it; `rules` fill `chains`.
    """

    chains: tuple[str, ...] = ()
    forward_jumps: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()
