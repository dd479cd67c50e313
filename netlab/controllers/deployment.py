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
            "metadata": {"name": step.create, "namespace": o.namespace, "labels": labels, "ownerReferences": [owner_ref("Deployment", o)]},
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
