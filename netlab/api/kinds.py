"""Every kind `netlab apply` accepts, by name: core/v1 (models.py) and networking.k8s.io/v1.

Kept apart from the type definitions so each API group has its own module and this is the one
place that lists them all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from netlab.api.models import Namespace, Pod, Service
from netlab.api.networkpolicy import NetworkPolicy

ApiObject = Pod | Service | Namespace | NetworkPolicy

MODELLED_KINDS: Mapping[str, type[Pod] | type[Service] | type[Namespace] | type[NetworkPolicy]] = {
    "Pod": Pod,
    "Service": Service,
    "Namespace": Namespace,
    "NetworkPolicy": NetworkPolicy,
}
NAMESPACED_KINDS = frozenset({"Pod", "Service", "NetworkPolicy"})


def object_from_dict(data: Mapping[str, Any]) -> ApiObject:
    """Rebuild an object from its `to_dict()` form (raises pydantic's ValidationError)."""
    kind = data.get("kind")
    if kind not in MODELLED_KINDS:
        raise ValueError(f"kind {kind!r} is not one of {', '.join(MODELLED_KINDS)}")
    return MODELLED_KINDS[kind].model_validate(data)


def obj_key(obj: ApiObject) -> tuple[str, str, str]:
    """(kind, namespace or "", name): the identity of an object, as the apiserver keys it."""
    return (obj.kind, obj.metadata.namespace or "", obj.metadata.name)
