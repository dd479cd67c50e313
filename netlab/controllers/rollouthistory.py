"""A Deployment's rollout history: its ReplicaSets, numbered by the deployment controller's
`deployment.kubernetes.io/revision` (read by `rollout history`, `rollout undo`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from netlab.apiserver.state import Lab
from netlab.apiserver.store import StoredObject
from netlab.controllers.deployment import CHANGE_CAUSE_ANNOTATION, revision_of
from netlab.controllers.garbagecollector import owned
from netlab.errors import NotFound


@dataclass(frozen=True)
class Revision:
    number: int
    change_cause: str | None
    replicaset: StoredObject


def history(lab: Lab, namespace: str, name: str) -> list[Revision]:
    """The Deployment's revisions, oldest first: one per ReplicaSet it owns."""
    get_workload(lab, "Deployment", namespace, name)
    revisions = [
        Revision(revision_of(rs.manifest), (rs.manifest["metadata"].get("annotations") or {}).get(CHANGE_CAUSE_ANNOTATION), rs)
        for rs in owned(lab, "ReplicaSet", namespace, "Deployment", name)
    ]
    return sorted(revisions, key=lambda r: r.number)


def revision_template(revision: Revision) -> dict[str, Any]:
    """The pod template of a revision, without the pod-template-hash label the controller added."""
    from netlab.controllers.workloads import HASH_LABEL

    template = revision.replicaset.manifest["spec"]["template"]
    meta = dict(template.get("metadata") or {})
    labels = {k: v for k, v in (meta.get("labels") or {}).items() if k != HASH_LABEL}
    return {**template, "metadata": {**meta, "labels": labels}}


def get_workload(lab: Lab, kind: str, namespace: str, name: str) -> StoredObject:
    from netlab.api.kinds import BY_KIND

    o = lab.store.get(kind, namespace, name)
    if o is None:
        raise NotFound(f'{BY_KIND[kind].qualified_plural} "{name}" not found')
    return o


def current_template(o: StoredObject) -> dict[str, Any]:
    from netlab.api.workloads import Deployment, StatefulSet

    model = Deployment if o.kind == "Deployment" else StatefulSet
    return model.model_validate(o.manifest).spec.template.to_dict()
