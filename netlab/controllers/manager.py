"""The controller manager's part of a reconcile: workloads become pods, lost pods are evicted.

Applies the pure plans of `control/workloads.py` to the store. Pods it makes carry an
ownerReference to their ReplicaSet or StatefulSet (and ReplicaSets to their Deployment), so
deleting an owner deletes what it owns, as Kubernetes' garbage collector does.
"""

from __future__ import annotations

import copy
import random
from typing import Any

from netlab.api.workloads import Deployment, ReplicaSet, StatefulSet
from netlab.controllers.workloads import (
    PodState,
    ReplicaSetState,
    plan_deployment,
    plan_replicaset,
    plan_statefulset,
    random_suffix,
    template_hash,
)
from netlab.apiserver.state import Lab
from netlab.apiserver.store import StoredObject

HASH_LABEL = "pod-template-hash"
REVISION_LABEL = "controller-revision-hash"


def owner_of(obj: StoredObject) -> tuple[str, str] | None:
    for ref in (obj.manifest.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref["kind"], ref["name"]
    return None


def _owner_ref(kind: str, obj: StoredObject) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": kind, "name": obj.name, "uid": obj.uid, "controller": True, "blockOwnerDeletion": True}


def failed_nodes(lab: Lab) -> set[str]:
    return {n for n, s in (lab.store.get_meta("nodes") or {}).items() if s.get("failed")}


def unschedulable_nodes(lab: Lab) -> set[str]:
    return {n for n, s in (lab.store.get_meta("nodes") or {}).items() if s.get("failed") or s.get("unschedulable")}


def run(lab: Lab, ready: dict[tuple[str, str], bool]) -> bool:
    """One pass of every workload controller; True when it changed the store."""
    store = lab.store
    changed = _evict_lost(lab)
    changed |= _collect_garbage(lab)
    with store.transaction():
        for o in store.list("Deployment"):
            changed |= _sync_deployment(lab, o, ready)
        for o in store.list("ReplicaSet"):
            changed |= _sync_replicaset(lab, o, ready)
        for o in store.list("StatefulSet"):
            changed |= _sync_statefulset(lab, o, ready)
    return changed


def _evict_lost(lab: Lab) -> bool:
    """Pods of a failed node that a controller owns are deleted, so it re-creates them elsewhere.

    Kubernetes waits for the node's not-ready toleration (300 s) first; the lab evicts at once.
    Bare pods stay bound to their node, as in Kubernetes: nothing re-creates them.
    """
    lost = failed_nodes(lab)
    changed = False
    for o in lab.store.list("Pod"):
        if o.status.get("nodeName") in lost and owner_of(o):
            lab.store.delete("Pod", o.namespace, o.name)
            kind, name = owner_of(o)  # type: ignore[misc]
            lab.store.add_event(kind, o.namespace, name, "NodeLost", f"pod {o.name} was on failed node {o.status['nodeName']}; replacing it", "Warning")
            changed = True
    return changed


def _collect_garbage(lab: Lab) -> bool:
    """Delete objects whose owner is gone (Kubernetes' garbage collector, background policy)."""
    changed = False
    for kind in ("ReplicaSet", "Pod"):
        for o in lab.store.list(kind):
            owner = owner_of(o)
            if owner and lab.store.get(owner[0], o.namespace, owner[1]) is None:
                lab.store.delete(kind, o.namespace, o.name)
                changed = True
    return changed


def _owned(lab: Lab, kind: str, namespace: str, owner_kind: str, owner_name: str) -> list[StoredObject]:
    return [o for o in lab.store.list(kind, namespace) if owner_of(o) == (owner_kind, owner_name)]


def _pod_state(o: StoredObject, ready: dict[tuple[str, str], bool]) -> PodState:
    return PodState(o.name, ready.get((o.namespace, o.name), False), o.created, o.status.get("nodeName"))


def _sync_deployment(lab: Lab, o: StoredObject, ready: dict[tuple[str, str], bool]) -> bool:
    deploy = Deployment.model_validate(o.manifest)
    template = deploy.spec.template.to_dict()
    current = template_hash(template)
    sets = []
    for rs in _owned(lab, "ReplicaSet", o.namespace, "Deployment", o.name):
        pods = _owned(lab, "Pod", o.namespace, "ReplicaSet", rs.name)
        sets.append(
            ReplicaSetState(
                name=rs.name,
                hash=rs.manifest["metadata"]["labels"].get(HASH_LABEL, ""),
                replicas=rs.manifest["spec"].get("replicas", 1),
                pods=len(pods),
                available=sum(1 for p in pods if ready.get((p.namespace, p.name))),
                created=rs.created,
            )
        )
    rolling = deploy.spec.strategy.rollingUpdate
    step = plan_deployment(
        o.name,
        deploy.spec.replicas,
        deploy.spec.strategy.type,
        rolling.maxSurge if rolling else "25%",
        rolling.maxUnavailable if rolling else "25%",
        current,
        sets,
    )
    if step.empty:
        return False
    if step.create:
        labels = {**deploy.spec.template.metadata.labels, HASH_LABEL: current}
        selector = copy.deepcopy(deploy.spec.selector.to_dict())
        selector.setdefault("matchLabels", {})[HASH_LABEL] = current
        rs_template = copy.deepcopy(template)
        rs_template.setdefault("metadata", {})["labels"] = labels
        manifest = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {"name": step.create, "namespace": o.namespace, "labels": labels, "ownerReferences": [_owner_ref("Deployment", o)]},
            "spec": {"replicas": 0, "selector": selector, "template": rs_template},
        }
        lab.store.put("ReplicaSet", o.namespace, step.create, manifest)
        lab.store.add_event("Deployment", o.namespace, o.name, "ScalingReplicaSet", f"Created new replica set {step.create}")
    for name, replicas in step.scale.items():
        rs = lab.store.get("ReplicaSet", o.namespace, name)
        manifest = copy.deepcopy(rs.manifest)
        old = manifest["spec"].get("replicas", 0)
        manifest["spec"]["replicas"] = replicas
        lab.store.put("ReplicaSet", o.namespace, name, manifest)
        verb = "up" if replicas > old else "down"
        lab.store.add_event("Deployment", o.namespace, o.name, "ScalingReplicaSet", f"Scaled {verb} replica set {name} from {old} to {replicas}")
    for name in step.delete:
        lab.store.delete("ReplicaSet", o.namespace, name)
    return True


def _sync_replicaset(lab: Lab, o: StoredObject, ready: dict[tuple[str, str], bool]) -> bool:
    rs = ReplicaSet.model_validate(o.manifest)
    pods = _owned(lab, "Pod", o.namespace, "ReplicaSet", o.name)
    create, delete = plan_replicaset(rs.spec.replicas, [_pod_state(p, ready) for p in pods])
    rng = random.Random()
    taken = {p.name for p in lab.store.list("Pod", o.namespace)}
    template = rs.spec.template.to_dict()
    for _ in range(create):
        name = f"{o.name}-{random_suffix(rng)}"
        while name in taken:
            name = f"{o.name}-{random_suffix(rng)}"
        taken.add(name)
        lab.store.put("Pod", o.namespace, name, _pod_manifest(template, name, o.namespace, _owner_ref("ReplicaSet", o)))
        lab.store.add_event("ReplicaSet", o.namespace, o.name, "SuccessfulCreate", f"Created pod: {name}")
    for name in delete:
        lab.store.delete("Pod", o.namespace, name)
        lab.store.add_event("ReplicaSet", o.namespace, o.name, "SuccessfulDelete", f"Deleted pod: {name}")
    return bool(create or delete)


def _sync_statefulset(lab: Lab, o: StoredObject, ready: dict[tuple[str, str], bool]) -> bool:
    sts = StatefulSet.model_validate(o.manifest)
    template = sts.spec.template.to_dict()
    current = template_hash(template)
    pods = _owned(lab, "Pod", o.namespace, "StatefulSet", o.name)
    step = plan_statefulset(
        o.name,
        sts.spec.replicas,
        sts.spec.podManagementPolicy == "Parallel",
        current,
        [(_pod_state(p, ready), (p.manifest["metadata"].get("labels") or {}).get(REVISION_LABEL, "")) for p in pods],
    )
    for i in step.create:
        name = f"{o.name}-{i}"
        manifest = _pod_manifest(template, name, o.namespace, _owner_ref("StatefulSet", o))
        manifest["metadata"]["labels"].update(
            {REVISION_LABEL: current, "statefulset.kubernetes.io/pod-name": name, "apps.kubernetes.io/pod-index": str(i)}
        )
        # A StatefulSet pod's hostname is its name, its subdomain the governing Service:
        # web-0.nginx.default.svc.cluster.local survives re-creation, the IP does not.
        manifest["spec"]["hostname"] = name
        if sts.spec.serviceName:
            manifest["spec"]["subdomain"] = sts.spec.serviceName
        lab.store.put("Pod", o.namespace, name, manifest)
        lab.store.add_event("StatefulSet", o.namespace, o.name, "SuccessfulCreate", f"create Pod {name} in StatefulSet {o.name} successful")
    for name in step.delete:
        lab.store.delete("Pod", o.namespace, name)
        lab.store.add_event("StatefulSet", o.namespace, o.name, "SuccessfulDelete", f"delete Pod {name} in StatefulSet {o.name} successful")
    return bool(step.create or step.delete)


def _pod_manifest(template: dict[str, Any], name: str, namespace: str, owner: dict[str, Any]) -> dict[str, Any]:
    meta = template.get("metadata") or {}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": dict(meta.get("labels") or {}),
            **({"annotations": meta["annotations"]} if meta.get("annotations") else {}),
            "ownerReferences": [owner],
        },
        "spec": copy.deepcopy(template["spec"]),
    }
