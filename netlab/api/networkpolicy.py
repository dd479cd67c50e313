"""networking.k8s.io/v1 NetworkPolicy, with the apiserver's defaulting and validation.

Field names and rules follow k8s.io/api/networking/v1 and
pkg/apis/networking/validation (ValidateNetworkPolicySpec, ValidateNetworkPolicyPeer,
ValidateNetworkPolicyPort, ValidateIPBlock), and the label selector is metav1.LabelSelector
(apimachinery ValidateLabelSelector). An `ipBlock` may be of either family, as upstream's: it
applies to that family's traffic only (a dual-stack lab enforces policies in both).

Nil and empty are different in this API and the models keep them apart: a peer's
`podSelector: {}` selects every pod of the namespace, while an absent one does not take part;
`ingress: []` (or no `ingress`) isolates the selected pods with nothing allowed.
"""

from __future__ import annotations

import ipaddress
from typing import Any, Literal

from pydantic import Field, StrictStr, field_validator, model_validator

from netlab.api import names
from netlab.api.field import (
    ProblemList,
    field_error,
    forbidden,
    invalid_value,
    required_value,
    unsupported_value,
)
from netlab.api.meta import ApiModel, ObjectMeta, PortNumber, Protocol
from netlab.api.selectors import LabelSelector

API_VERSION = "networking.k8s.io/v1"
POLICY_TYPES = ("Ingress", "Egress")


# --- peers and ports ------------------------------------------------------------------------------


def _cidr_errors(value: str) -> list[str]:
    """Go's ParseCIDR accepts host bits (10.0.0.1/24 means 10.0.0.0/24)."""
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return ["must be a valid CIDR (e.g. 10.0.0.0/16)"]
    return []


class IPBlock(ApiModel):
    cidr: StrictStr
    except_: list[StrictStr] = Field([], alias="except")

    model_config = {**ApiModel.model_config, "populate_by_name": True}

    @property
    def network(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
        return ipaddress.ip_network(self.cidr, strict=False)

    @property
    def excepted(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(ipaddress.ip_network(e, strict=False) for e in self.except_)

    @field_validator("cidr")
    @classmethod
    def _valid_cidr(cls, value: str) -> str:
        errors = _cidr_errors(value)
        if errors:
            raise field_error(invalid_value(value, errors[0]))
        return value

    @model_validator(mode="after")
    def _strict_subsets(self) -> IPBlock:
        problems = ProblemList()
        outer = self.network
        for i, text in enumerate(self.except_):
            errors = _cidr_errors(text)
            if errors:
                problems.add(("except", i), invalid_value(text, errors[0]))
                continue
            inner = ipaddress.ip_network(text, strict=False)
            if inner.version != outer.version or not (inner.subnet_of(outer) and inner.prefixlen > outer.prefixlen):
                problems.add(("except", i), invalid_value(text, "must be a strict subset of `cidr`"))
        problems.raise_if_any()
        return self


class NetworkPolicyPeer(ApiModel):
    podSelector: LabelSelector | None = None
    namespaceSelector: LabelSelector | None = None
    ipBlock: IPBlock | None = None

    @model_validator(mode="after")
    def _one_kind_of_peer(self) -> NetworkPolicyPeer:
        given = [x for x in (self.podSelector, self.namespaceSelector, self.ipBlock) if x is not None]
        if not given:
            raise field_error(required_value("must specify a peer"))
        if len(given) > 1 and self.ipBlock is not None:
            raise field_error(forbidden("may not specify both ipBlock and another peer"))
        return self


def _port_value(value: Any) -> int | str | None:
    """IntOrString: a port number, or a container port's name (resolved per destination pod)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise field_error(invalid_value(value, "must be an integer or a port name"))
    if isinstance(value, int):
        if not 1 <= value <= 65535:
            raise field_error(invalid_value(value, "must be between 1 and 65535, inclusive"))
        return value
    errors = names.iana_svc_name_errors(value)
    if errors:
        raise field_error(invalid_value(value, "; ".join(errors)))
    return value


class NetworkPolicyPort(ApiModel):
    protocol: Protocol = "TCP"
    port: int | str | None = None  # None: every port of the protocol
    endPort: PortNumber | None = None

    @field_validator("port", mode="plain")
    @classmethod
    def _check_port(cls, value: Any) -> int | str | None:
        return _port_value(value)

    @model_validator(mode="after")
    def _end_port(self) -> NetworkPolicyPort:
        if self.endPort is None:
            return self
        if self.port is None:
            raise field_error(required_value("`port` must be specified when `endPort` is specified"))
        if isinstance(self.port, str):
            raise field_error(forbidden("endPort may not be specified when `port` is non-numeric"))
        if self.endPort < self.port:
            raise field_error(invalid_value(self.endPort, "endPort must be greater than or equal to `port`"))
        return self


class NetworkPolicyIngressRule(ApiModel):
    ports: list[NetworkPolicyPort] = []  # empty: every port
    from_: list[NetworkPolicyPeer] = Field([], alias="from")  # empty: every source

    model_config = {**ApiModel.model_config, "populate_by_name": True}


class NetworkPolicyEgressRule(ApiModel):
    ports: list[NetworkPolicyPort] = []
    to: list[NetworkPolicyPeer] = []  # empty: every destination


# --- the policy -----------------------------------------------------------------------------------


class NetworkPolicySpec(ApiModel):
    podSelector: LabelSelector = LabelSelector()
    policyTypes: list[StrictStr] = []
    ingress: list[NetworkPolicyIngressRule] = []
    egress: list[NetworkPolicyEgressRule] = []

    @model_validator(mode="before")
    @classmethod
    def _default_policy_types(cls, data: Any) -> Any:
        # SetDefaults_NetworkPolicySpec: Ingress always, Egress when there are egress rules.
        if isinstance(data, dict) and not data.get("policyTypes"):
            egress = data.get("egress")
            types = ["Ingress", "Egress"] if isinstance(egress, list) and egress else ["Ingress"]
            return {**data, "policyTypes": types}
        return data

    @field_validator("policyTypes")
    @classmethod
    def _policy_types(cls, value: list[str]) -> list[str]:
        problems = ProblemList()
        for i, kind in enumerate(value):
            if kind not in POLICY_TYPES:
                problems.add((i,), unsupported_value(kind, POLICY_TYPES))
        if len(value) > len(POLICY_TYPES):
            problems.add((), invalid_value(value, "may not specify more than two policyTypes"))
        problems.raise_if_any()
        return value

    @property
    def isolates_ingress(self) -> bool:
        return "Ingress" in self.policyTypes

    @property
    def isolates_egress(self) -> bool:
        return "Egress" in self.policyTypes


class NetworkPolicy(ApiModel):
    apiVersion: Literal["networking.k8s.io/v1"] = API_VERSION
    kind: Literal["NetworkPolicy"] = "NetworkPolicy"
    metadata: ObjectMeta
    spec: NetworkPolicySpec = NetworkPolicySpec()

    def to_dict(self) -> dict[str, Any]:
        """As the apiserver returns it: empty fields omitted, but an empty selector kept as `{}`
        (Go's omitempty keeps a non-nil pointer), because `podSelector: {}` means "all pods"."""
        return _omit_empty_keep_selectors(self.model_dump(mode="json", by_alias=True, exclude_none=True))


_SELECTOR_KEYS = ("podSelector", "namespaceSelector")


def _omit_empty_keep_selectors(value: Any) -> Any:
    if isinstance(value, dict):
        pruned = {k: _omit_empty_keep_selectors(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if k in _SELECTOR_KEYS or (v != {} and v != [])}
    if isinstance(value, list):
        return [_omit_empty_keep_selectors(v) for v in value]
    return value


__all__ = [
    "IPBlock",
    "LabelSelector",
    "NetworkPolicy",
    "NetworkPolicyEgressRule",
    "NetworkPolicyIngressRule",
    "NetworkPolicyPeer",
    "NetworkPolicyPort",
    "NetworkPolicySpec",
]
