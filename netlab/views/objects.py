"""Objects as `kubectl get -o yaml` prints them (metadata, Pod, List) and kubectl's AGE."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from netlab.api.labels import Selector
    from netlab.api.models import Pod
    from netlab.apiserver.store import StoredObject
    from netlab.kubelet.status import PodState


def timestamp(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def age(created: float, now: float) -> str:
    """kubectl's short duration: 45s, 12m, 3h, 5d."""
    seconds = max(0, int(now - created))
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 120:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 48:
        return f"{hours}h"
    return f"{hours // 24}d"


def selected(objs: list[StoredObject], selector: Selector | None) -> list[StoredObject]:
    """The objects whose labels `-l` selects (all of them without a selector)."""
    if selector is None:
        return objs
    return [o for o in objs if selector.matches((o.manifest.get("metadata") or {}).get("labels") or {})]


def metadata(obj: StoredObject) -> dict[str, Any]:
    meta = dict(obj.manifest.get("metadata") or {})
    if obj.namespace:
        meta["namespace"] = obj.namespace
    meta["uid"] = obj.uid
    meta["generation"] = obj.generation
    meta["creationTimestamp"] = timestamp(obj.created)
    return meta


def stored_pod(obj: StoredObject) -> Any:
    """The part of a Pod that its row and document read (containers' names and images,
    restartPolicy), straight from the stored manifest, shaped like the model: the store holds
    only what admission validated and defaulted, so `get pods` builds no pydantic model."""
    spec = obj.manifest.get("spec") or {}
    containers = [SimpleNamespace(name=c["name"], image=c.get("image", "")) for c in spec.get("containers") or []]
    return SimpleNamespace(spec=SimpleNamespace(containers=containers, restartPolicy=spec.get("restartPolicy", "Always")))


def pod_object(obj: StoredObject, pod: Pod | Any, state: PodState) -> dict[str, Any]:
    """The pod as `get -o yaml` prints it, its status from `state` (the one its row shows)."""
    spec = dict(obj.manifest.get("spec") or {})
    spec.setdefault("restartPolicy", pod.spec.restartPolicy)
    if obj.status.get("nodeName"):
        spec["nodeName"] = obj.status["nodeName"]
    status: dict[str, Any] = {"phase": state.phase}
    if obj.status.get("reason"):
        status["conditions"] = [
            {"type": "PodScheduled", "status": "False", "reason": obj.status["reason"], "message": obj.status.get("message", "")}
        ]
    elif obj.status.get("nodeName"):
        # The kubelet's conditions, what `wait --for=condition=Ready` and JSONPath filters read.
        ready = "True" if state.total and state.ready == state.total and state.phase == "Running" else "False"
        status["conditions"] = [
            {"type": "Initialized", "status": "True"},
            {"type": "Ready", "status": ready},
            {"type": "ContainersReady", "status": ready},
            {"type": "PodScheduled", "status": "True"},
        ]
    if obj.status.get("hostIP"):
        status["hostIP"] = obj.status["hostIP"]
        status["hostIPs"] = [{"ip": ip} for ip in obj.status.get("hostIPs") or [obj.status["hostIP"]]]
    if obj.status.get("podIP"):
        status["podIP"] = obj.status["podIP"]
        status["podIPs"] = [{"ip": ip} for ip in obj.status.get("podIPs") or [obj.status["podIP"]]]
    if obj.status.get("startTime"):
        status["startTime"] = timestamp(obj.status["startTime"])
    if state.container_statuses:
        status["containerStatuses"] = list(state.container_statuses)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata(obj), "spec": spec, "status": status}


def as_list(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "List", "items": items, "metadata": {"resourceVersion": ""}}
