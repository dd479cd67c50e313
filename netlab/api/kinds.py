"""Every kind `netlab apply` accepts, by name: core/v1 (models.py), apps/v1 (workloads.py) and
networking.k8s.io/v1 (networkpolicy.py).

Kept apart from the type definitions so each API group has its own module and this is the one
place that lists them all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from netlab.api.models import ApiModel, Namespace, Pod, Service
from netlab.api.networkpolicy import NetworkPolicy
from netlab.api.workloads import Deployment, ReplicaSet, StatefulSet

ApiObject = Pod | Service | Namespace | NetworkPolicy | Deployment | ReplicaSet | StatefulSet

MODELLED_KINDS: Mapping[str, type[ApiModel]] = {
    "Pod": Pod,
    "Service": Service,
    "Namespace": Namespace,
    "NetworkPolicy": NetworkPolicy,
    "Deployment": Deployment,
    "ReplicaSet": ReplicaSet,
    "StatefulSet": StatefulSet,
}
NAMESPACED_KINDS = frozenset(MODELLED_KINDS) - {"Namespace"}


def object_from_dict(data: Mapping[str, Any]) -> ApiObject:
    """Rebuild an object from its `to_dict()` form (raises pydantic's ValidationError)."""
    kind = data.get("kind")
    if kind not in MODELLED_KINDS:
        raise ValueError(f"kind {kind!r} is not one of {', '.join(MODELLED_KINDS)}")
    return MODELLED_KINDS[kind].model_validate(data)  # type: ignore[return-value]


def obj_key(obj: ApiObject) -> tuple[str, str, str]:
    """(kind, namespace or "", name): the identity of an object, as the apiserver keys it."""
    return (obj.kind, obj.metadata.namespace or "", obj.metadata.name)
