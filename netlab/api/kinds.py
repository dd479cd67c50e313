"""Every kind netlab models, by name: what the loader validates and the store rebuilds."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from netlab.api.models import ApiModel, Namespace, Pod, Service
from netlab.api.workloads import Deployment, ReplicaSet, StatefulSet

ApiObject = Pod | Service | Namespace | Deployment | ReplicaSet | StatefulSet

MODELLED_KINDS: Mapping[str, type[ApiModel]] = {
    "Pod": Pod,
    "Service": Service,
    "Namespace": Namespace,
    "Deployment": Deployment,
    "ReplicaSet": ReplicaSet,
    "StatefulSet": StatefulSet,
}
NAMESPACED_KINDS = frozenset(MODELLED_KINDS) - {"Namespace"}
# Objects a controller owns; the workload controllers turn them into pods.
WORKLOAD_KINDS = ("Deployment", "ReplicaSet", "StatefulSet")


def object_from_dict(data: Mapping[str, Any]) -> Any:
    """Rebuild an object from its `to_dict()` form (raises pydantic's ValidationError)."""
    kind = data.get("kind")
    if kind not in MODELLED_KINDS:
        raise ValueError(f"kind {kind!r} is not one of {', '.join(MODELLED_KINDS)}")
    return MODELLED_KINDS[kind].model_validate(data)


def obj_key(obj: Any) -> tuple[str, str, str]:
    """(kind, namespace or "", name): the identity of an object, as the apiserver keys it."""
    return (obj.kind, obj.metadata.namespace or "", obj.metadata.name)
