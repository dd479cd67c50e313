"""The one table of kinds: every resource netlab knows, by every name kubectl knows it.

`netlab apply` accepts the modelled kinds — core/v1 (models.py), apps/v1 (workloads.py),
core/v1 Secret (secret.py), networking.k8s.io/v1 (networkpolicy.py, ingress.py),
gateway.networking.k8s.io/v1 (gateway.py) and v1beta1 (referencegrant.py); `get` also lists
Endpoints, EndpointSlices and Nodes, which the lab derives instead of storing. The CLI's aliases and short names, the apiserver's resource names
in messages ("deployment.apps/web created", `pods "x" not found`), which kinds live in a
namespace and the order `apply` writes them in all come from here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from netlab.api.gateway import Gateway, GatewayClass, HTTPRoute
from netlab.api.ingress import Ingress, IngressClass
from netlab.api.meta import ApiModel
from netlab.api.models import Namespace, Pod, Service
from netlab.api.networkpolicy import NetworkPolicy
from netlab.api.referencegrant import ReferenceGrant
from netlab.api.secret import Secret
from netlab.api.workloads import Deployment, ReplicaSet, StatefulSet

ApiObject = (
    Pod | Service | Namespace | NetworkPolicy | Deployment | ReplicaSet | StatefulSet | Ingress | IngressClass
    | GatewayClass | Gateway | HTTPRoute | ReferenceGrant | Secret
)


@dataclass(frozen=True)
class KindInfo:
    kind: str  # Pod
    group: str  # "" (core), apps, networking.k8s.io
    resource: str  # the plural resource: pods
    singular: str  # pod
    short_names: tuple[str, ...]  # po
    namespaced: bool
    model: type[ApiModel] | None = None  # None: derived by the lab, not applied (Endpoints, Node, …)
    apply_order: int = 0  # kubectl's order: namespaces first, Services before the pods behind them

    @property
    def names(self) -> tuple[str, ...]:
        """Every spelling kubectl accepts for it on the command line."""
        return (self.resource, self.singular, *self.short_names)

    @property
    def qualified(self) -> str:
        """The name kubectl prints in `KIND/NAME created`: pod, deployment.apps."""
        return f"{self.singular}.{self.group}" if self.group else self.singular

    @property
    def qualified_plural(self) -> str:
        """The name the apiserver uses in errors: pods, deployments.apps."""
        return f"{self.resource}.{self.group}" if self.group else self.resource


KINDS: tuple[KindInfo, ...] = (
    KindInfo("Pod", "", "pods", "pod", ("po",), True, Pod, 4),
    KindInfo("Service", "", "services", "service", ("svc",), True, Service, 1),
    KindInfo("Namespace", "", "namespaces", "namespace", ("ns",), False, Namespace, 0),
    KindInfo("NetworkPolicy", "networking.k8s.io", "networkpolicies", "networkpolicy", ("netpol",), True, NetworkPolicy, 1),
    KindInfo("Deployment", "apps", "deployments", "deployment", ("deploy",), True, Deployment, 2),
    KindInfo("ReplicaSet", "apps", "replicasets", "replicaset", ("rs",), True, ReplicaSet, 3),
    KindInfo("StatefulSet", "apps", "statefulsets", "statefulset", ("sts",), True, StatefulSet, 2),
    KindInfo("IngressClass", "networking.k8s.io", "ingressclasses", "ingressclass", (), False, IngressClass, 0),
    KindInfo("Ingress", "networking.k8s.io", "ingresses", "ingress", ("ing",), True, Ingress, 1),
    KindInfo("GatewayClass", "gateway.networking.k8s.io", "gatewayclasses", "gatewayclass", ("gc",), False, GatewayClass, 0),
    KindInfo("Gateway", "gateway.networking.k8s.io", "gateways", "gateway", ("gtw",), True, Gateway, 1),
    KindInfo("HTTPRoute", "gateway.networking.k8s.io", "httproutes", "httproute", (), True, HTTPRoute, 1),
    KindInfo("ReferenceGrant", "gateway.networking.k8s.io", "referencegrants", "referencegrant", ("refgrant",), True, ReferenceGrant, 1),
    KindInfo("Secret", "", "secrets", "secret", (), True, Secret, 1),
    KindInfo("Endpoints", "", "endpoints", "endpoints", ("ep",), True),
    KindInfo("EndpointSlice", "discovery.k8s.io", "endpointslices", "endpointslice", (), True),
    KindInfo("Node", "", "nodes", "node", ("no",), False),
)  # fmt: skip

BY_KIND: Mapping[str, KindInfo] = {k.kind: k for k in KINDS}
_BY_NAME: Mapping[str, KindInfo] = {name: k for k in KINDS for name in (*k.names, k.qualified, k.qualified_plural)}

MODELLED_KINDS: Mapping[str, type[ApiModel]] = {k.kind: k.model for k in KINDS if k.model is not None}
NAMESPACED_KINDS = frozenset(k for k in MODELLED_KINDS if BY_KIND[k].namespaced)
WORKLOAD_KINDS = ("Deployment", "ReplicaSet", "StatefulSet")  # what `netlab scale` scales


def lookup(name: str) -> KindInfo | None:
    """The kind a command-line spelling means (`po`, `pods`, `deploy`, `deployments.apps`), or None."""
    return _BY_NAME.get(name.lower())


def object_from_dict(data: Mapping[str, Any]) -> ApiObject:
    """Rebuild an object from its `to_dict()` form (raises pydantic's ValidationError)."""
    kind = data.get("kind")
    if kind not in MODELLED_KINDS:
        raise ValueError(f"kind {kind!r} is not one of {', '.join(MODELLED_KINDS)}")
    return MODELLED_KINDS[kind].model_validate(data)  # type: ignore[return-value]


def obj_key(obj: ApiObject) -> tuple[str, str, str]:
    """(kind, namespace or "", name): the identity of an object, as the apiserver keys it."""
    return (obj.kind, obj.metadata.namespace or "", obj.metadata.name)
