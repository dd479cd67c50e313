"""The one table of kinds: every resource netlab knows, by every name kubectl knows it.

`netlab apply` accepts the modelled kinds — core/v1 (models.py), apps/v1 (workloads.py),
networking.k8s.io/v1 (networkpolicy.py, ingress.py) and gateway.networking.k8s.io/v1
(gateway.py); `get` also lists Endpoints, EndpointSlices and Nodes, which the lab derives
instead of storing. The CLI's aliases and short names, the apiserver's resource names
in messages ("deployment.apps/web created", `pods "x" not found`), which kinds live in a
namespace and the order `apply` writes them in all come from here and nowhere else.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from netlab.api.gateway import Gateway, GatewayClass, HTTPRoute
    from netlab.api.ingress import Ingress, IngressClass
    from netlab.api.meta import ApiModel
    from netlab.api.models import Namespace, Pod, Service
    from netlab.api.networkpolicy import NetworkPolicy
    from netlab.api.rbac import ClusterRole, ClusterRoleBinding, Role, RoleBinding, ServiceAccount
    from netlab.api.referencegrant import ReferenceGrant
    from netlab.api.secret import Secret
    from netlab.api.configmap import ConfigMap
    from netlab.api.workloads import Deployment, ReplicaSet, StatefulSet

    ApiObject = (
        Pod | Service | Namespace | NetworkPolicy | Deployment | ReplicaSet | StatefulSet | Ingress | IngressClass
        | GatewayClass | Gateway | HTTPRoute | ReferenceGrant | Secret | ConfigMap
        | ServiceAccount | Role | ClusterRole | RoleBinding | ClusterRoleBinding
    )


class KindInfo:
    """One kind, as plain data: reading the table imports no model (`get pods` and `--help`
    never build a pydantic class); `model` imports its module on first use."""

    __slots__ = ("kind", "group", "resource", "singular", "short_names", "namespaced", "model_path", "apply_order")

    def __init__(
        self,
        kind: str,  # Pod
        group: str,  # "" (core), apps, networking.k8s.io
        resource: str,  # the plural resource: pods
        singular: str,  # pod
        short_names: tuple[str, ...],  # po
        namespaced: bool,
        model_path: str | None = None,  # "module:Class"; None: derived by the lab, not applied (Endpoints, Node, …)
        apply_order: int = 0,  # kubectl's order: namespaces first, Services before the pods behind them
    ) -> None:
        self.kind, self.group, self.resource, self.singular = kind, group, resource, singular
        self.short_names, self.namespaced, self.model_path, self.apply_order = short_names, namespaced, model_path, apply_order

    def __repr__(self) -> str:
        return f"KindInfo({self.kind!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, KindInfo) and other.kind == self.kind

    def __hash__(self) -> int:
        return hash(self.kind)

    @property
    def modelled(self) -> bool:
        """`apply` takes it (it has a model); the others the lab derives."""
        return self.model_path is not None

    @property
    def model(self) -> type[ApiModel] | None:
        if self.model_path is None:
            return None
        module, _, name = self.model_path.partition(":")
        return getattr(importlib.import_module(module), name)

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
    KindInfo("Pod", "", "pods", "pod", ("po",), True, "netlab.api.models:Pod", 4),
    KindInfo("Service", "", "services", "service", ("svc",), True, "netlab.api.models:Service", 1),
    KindInfo("Namespace", "", "namespaces", "namespace", ("ns",), False, "netlab.api.models:Namespace", 0),
    KindInfo("NetworkPolicy", "networking.k8s.io", "networkpolicies", "networkpolicy", ("netpol",), True, "netlab.api.networkpolicy:NetworkPolicy", 1),
    KindInfo("Deployment", "apps", "deployments", "deployment", ("deploy",), True, "netlab.api.workloads:Deployment", 2),
    KindInfo("ReplicaSet", "apps", "replicasets", "replicaset", ("rs",), True, "netlab.api.workloads:ReplicaSet", 3),
    KindInfo("StatefulSet", "apps", "statefulsets", "statefulset", ("sts",), True, "netlab.api.workloads:StatefulSet", 2),
    KindInfo("IngressClass", "networking.k8s.io", "ingressclasses", "ingressclass", (), False, "netlab.api.ingress:IngressClass", 0),
    KindInfo("Ingress", "networking.k8s.io", "ingresses", "ingress", ("ing",), True, "netlab.api.ingress:Ingress", 1),
    KindInfo("GatewayClass", "gateway.networking.k8s.io", "gatewayclasses", "gatewayclass", ("gc",), False, "netlab.api.gateway:GatewayClass", 0),
    KindInfo("Gateway", "gateway.networking.k8s.io", "gateways", "gateway", ("gtw",), True, "netlab.api.gateway:Gateway", 1),
    KindInfo("HTTPRoute", "gateway.networking.k8s.io", "httproutes", "httproute", (), True, "netlab.api.gateway:HTTPRoute", 1),
    KindInfo("ReferenceGrant", "gateway.networking.k8s.io", "referencegrants", "referencegrant", ("refgrant",), True, "netlab.api.referencegrant:ReferenceGrant", 1),
    KindInfo("Secret", "", "secrets", "secret", (), True, "netlab.api.secret:Secret", 1),
    KindInfo("ConfigMap", "", "configmaps", "configmap", ("cm",), True, "netlab.api.configmap:ConfigMap", 1),
    KindInfo("ServiceAccount", "", "serviceaccounts", "serviceaccount", ("sa",), True, "netlab.api.rbac:ServiceAccount", 1),
    KindInfo("Role", "rbac.authorization.k8s.io", "roles", "role", (), True, "netlab.api.rbac:Role", 1),
    KindInfo("ClusterRole", "rbac.authorization.k8s.io", "clusterroles", "clusterrole", (), False, "netlab.api.rbac:ClusterRole", 1),
    KindInfo("RoleBinding", "rbac.authorization.k8s.io", "rolebindings", "rolebinding", (), True, "netlab.api.rbac:RoleBinding", 1),
    KindInfo("ClusterRoleBinding", "rbac.authorization.k8s.io", "clusterrolebindings", "clusterrolebinding", (), False, "netlab.api.rbac:ClusterRoleBinding", 1),
    KindInfo("Endpoints", "", "endpoints", "endpoints", ("ep",), True),
    KindInfo("EndpointSlice", "discovery.k8s.io", "endpointslices", "endpointslice", (), True),
    KindInfo("Node", "", "nodes", "node", ("no",), False),
)  # fmt: skip

BY_KIND: Mapping[str, KindInfo] = {k.kind: k for k in KINDS}
_BY_NAME: Mapping[str, KindInfo] = {name: k for k in KINDS for name in (*k.names, k.qualified, k.qualified_plural)}

NAMESPACED_KINDS = frozenset(k.kind for k in KINDS if k.modelled and k.namespaced)
WORKLOAD_KINDS = ("Deployment", "ReplicaSet", "StatefulSet")  # what `netlab scale` scales


def __getattr__(name: str) -> Any:
    """MODELLED_KINDS (kind -> model class) and ApiObject (their union) import every model:
    built on first use, by the writers and the loader, never by a reader of the table."""
    if name == "MODELLED_KINDS":
        value: Any = {k.kind: k.model for k in KINDS if k.modelled}
    elif name == "ApiObject":
        import functools
        import operator

        value = functools.reduce(operator.or_, (k.model for k in KINDS if k.modelled))
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def lookup(name: str) -> KindInfo | None:
    """The kind a command-line spelling means (`po`, `pods`, `deploy`, `deployments.apps`), or None."""
    return _BY_NAME.get(name.lower())


def object_from_dict(data: Mapping[str, Any]) -> ApiObject:
    """Rebuild an object from its `to_dict()` form (raises pydantic's ValidationError)."""
    info = BY_KIND.get(data.get("kind"))  # type: ignore[arg-type]
    if info is None or info.model is None:
        modelled = ", ".join(k.kind for k in KINDS if k.modelled)
        raise ValueError(f"kind {data.get('kind')!r} is not one of {modelled}")
    return info.model.model_validate(data)  # type: ignore[return-value]


def obj_key(obj: ApiObject) -> tuple[str, str, str]:
    """(kind, namespace or "", name): the identity of an object, as the apiserver keys it."""
    return (obj.kind, obj.metadata.namespace or "", obj.metadata.name)
