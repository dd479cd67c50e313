"""The Deployment controller: one step of a rollout (new ReplicaSet, scale up, scale down)."""

from __future__ import annotations

import copy

from netlab.api.workloads import Deployment
from netlab.apiserver.state import Lab
from netlab.apiserver.store import StoredObject
from netlab.controllers.garbagecollector import owned, owner_ref
from netlab.controllers.workloads import (
    HASH_LABEL,
    ReplicaSetState,
    plan_deployment,
    template_hash,
)


def sync_deployment(lab: Lab, o: StoredObject, ready: dict[tuple[str, str], bool]) -> bool:
    deploy = Deployment.model_validate(o.manifest)
    template = deploy.spec.template.to_dict()
    current = template_hash(template)
    sets = []
    for rs in owned(lab, "ReplicaSet", o.namespace, "Deployment", o.name):
        pods = owned(lab, "Pod", o.namespace, "ReplicaSet", rs.name)
        sets.append(
            ReplicaSetState(
                name=rs.name,
                hash=rs.manifest["metadata"]["labels"].get(HASH_LABEL, ""),
                replicas=rs.manifest["spec"].get("replicas", 1),
                pods=len(pods),
                available=sum(1 for p in pods if ready.get((p.namespace, p.name))),
                created=rs.created,
                revision=revision_of(rs.manifest),
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
        deploy.spec.revisionHistoryLimit,
    )
    next_revision = max((s.revision for s in sets if s.hash != current), default=0) + 1
    changed = _annotate_new(lab, o, deploy, current, next_revision, sets)
    if step.empty:
        return changed
    if step.create:
        labels = {**deploy.spec.template.metadata.labels, HASH_LABEL: current}
        selector = copy.deepcopy(deploy.spec.selector.to_dict())
        selector.setdefault("matchLabels", {})[HASH_LABEL] = current
        rs_template = copy.deepcopy(template)
        rs_template.setdefault("metadata", {})["labels"] = labels
        manifest = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": step.create,
                "namespace": o.namespace,
                "labels": labels,
                "annotations": _rs_annotations(deploy, next_revision),
                "ownerReferences": [owner_ref("Deployment", o)],
            },
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


REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
CHANGE_CAUSE_ANNOTATION = "kubernetes.io/change-cause"


def revision_of(manifest: dict) -> int:
    value = ((manifest.get("metadata") or {}).get("annotations") or {}).get(REVISION_ANNOTATION, "0")
    return int(value) if str(value).isdigit() else 0


def _rs_annotations(deploy: Deployment, revision: int) -> dict[str, str]:
    """What the deployment controller writes on its new ReplicaSet: the revision, and the
    Deployment's change-cause (SetNewReplicaSetAnnotations)."""
    annotations = {REVISION_ANNOTATION: str(revision)}
    cause = deploy.metadata.annotations.get(CHANGE_CAUSE_ANNOTATION)
    if cause is not None:
        annotations[CHANGE_CAUSE_ANNOTATION] = cause
    return annotations


def _annotate_new(lab: Lab, o: StoredObject, deploy: Deployment, current: str, next_revision: int, sets) -> bool:
    """A ReplicaSet that becomes the new one again (a rollback, or a template changed back)
    takes the next revision, as upstream renumbers it; its change-cause follows the Deployment."""
    new = next((s for s in sets if s.hash == current), None)
    if new is None:
        return False
    rs = lab.store.get("ReplicaSet", o.namespace, new.name)
    annotations = dict((rs.manifest.get("metadata") or {}).get("annotations") or {})
    wanted = _rs_annotations(deploy, max(next_revision, 1) if new.revision < next_revision else new.revision)
    if all(annotations.get(k) == v for k, v in wanted.items()):
        return False
    manifest = copy.deepcopy(rs.manifest)
    manifest["metadata"]["annotations"] = {**annotations, **wanted}
    lab.store.put("ReplicaSet", o.namespace, new.name, manifest)
    return True
