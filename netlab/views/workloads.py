"""`get` for the apps/v1 workloads, with kubectl's columns: Deployments (NAME READY UP-TO-DATE
AVAILABLE AGE, and the Available and Progressing conditions `wait` reads), ReplicaSets (NAME
DESIRED CURRENT READY AGE) and StatefulSets (NAME READY AGE), counted from the pods each owns.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from netlab.kubelet.status import pod_ready
from netlab.views.objects import age, metadata, selected

if TYPE_CHECKING:
    from netlab.api.labels import Selector
    from netlab.api.workloads import Deployment
    from netlab.apiserver.state import Lab
    from netlab.apiserver.store import StoredObject


def owner_of(obj: StoredObject) -> tuple[str, str] | None:
    from netlab.controllers.garbagecollector import owner_of

    return owner_of(obj)


def _owned_pods(lab: Lab, namespace: str, kind: str, name: str) -> list[StoredObject]:
    return [p for p in lab.store.list("Pod", namespace) if owner_of(p) == (kind, name)]


def _workload_doc(o: StoredObject, status: dict[str, Any]) -> dict[str, Any]:
    return {**o.manifest, "metadata": metadata(o), "status": status}


def deployments(lab: Lab, namespace: str | None, selector: Selector | None, wide: bool):
    from netlab.api.workloads import Deployment
    from netlab.controllers.deployment import REVISION_ANNOTATION, revision_of
    from netlab.controllers.workloads import HASH_LABEL, template_hash

    now = time.time()
    headers = ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"] + (["CONTAINERS", "IMAGES", "SELECTOR"] if wide else [])
    rows, docs = [], []
    for o in selected(lab.store.list("Deployment", namespace), selector):
        spec = o.manifest["spec"]
        want = spec.get("replicas", 1)
        current = template_hash(Deployment.model_validate(o.manifest).spec.template.to_dict())
        sets = [rs for rs in lab.store.list("ReplicaSet", o.namespace) if owner_of(rs) == ("Deployment", o.name)]
        pods = [p for rs in sets for p in _owned_pods(lab, o.namespace, "ReplicaSet", rs.name)]
        ready = sum(1 for p in pods if pod_ready(p.status))
        updated = sum(1 for p in pods if (p.manifest["metadata"].get("labels") or {}).get(HASH_LABEL) == current)
        row = [o.name, f"{ready}/{want}", updated, ready, age(o.created, now)]
        if wide:
            containers = spec["template"]["spec"]["containers"]
            row += [",".join(c["name"] for c in containers), ",".join(c["image"] for c in containers),
                    ",".join(f"{k}={v}" for k, v in spec["selector"].get("matchLabels", {}).items())]
        rows.append(([o.namespace] if namespace is None else []) + row)
        status = {"observedGeneration": 1, "replicas": len(pods), "readyReplicas": ready, "updatedReplicas": updated, "availableReplicas": ready}
        status["conditions"] = deployment_conditions(Deployment.model_validate(o.manifest), ready, updated, len(pods))
        doc = _workload_doc(o, status)
        if sets:  # the deployment controller's annotation: the newest revision
            annotations = {**(doc["metadata"].get("annotations") or {}), REVISION_ANNOTATION: str(max(revision_of(rs.manifest) for rs in sets))}
            doc["metadata"] = {**doc["metadata"], "annotations": annotations}
        docs.append(doc)
    if namespace is None:
        headers = ["NAMESPACE"] + headers
    return headers, rows, docs


def deployment_conditions(deploy: Deployment, available: int, updated: int, total: int) -> list[dict[str, str]]:
    """The deployment controller's Available and Progressing conditions (what `wait
    --for=condition=Available` reads): available when at most maxUnavailable replicas are not."""
    from netlab.controllers.workloads import resolve_int_or_percent

    want = deploy.spec.replicas
    rolling = deploy.spec.strategy.rollingUpdate if deploy.spec.strategy else None
    max_unavailable = 0
    if deploy.spec.strategy is None or deploy.spec.strategy.type == "RollingUpdate":
        max_unavailable = resolve_int_or_percent(rolling.maxUnavailable if rolling else "25%", want, round_up=False)
    is_available = available >= want - max_unavailable
    complete = updated == want and total == want and available == want
    return [
        {"type": "Available", "status": "True" if is_available else "False",
         "reason": "MinimumReplicasAvailable" if is_available else "MinimumReplicasUnavailable",
         "message": "Deployment has minimum availability." if is_available else "Deployment does not have minimum availability."},
        {"type": "Progressing", "status": "True",
         "reason": "NewReplicaSetAvailable" if complete else "ReplicaSetUpdated",
         "message": f'ReplicaSet "{deploy.metadata.name}" has successfully progressed.' if complete else f'ReplicaSet "{deploy.metadata.name}" is progressing.'},
    ]  # fmt: skip


def replicasets(lab: Lab, namespace: str | None, selector: Selector | None, wide: bool):
    now = time.time()
    headers = ["NAME", "DESIRED", "CURRENT", "READY", "AGE"] + (["CONTAINERS", "IMAGES", "SELECTOR"] if wide else [])
    rows, docs = [], []
    for o in selected(lab.store.list("ReplicaSet", namespace), selector):
        pods = _owned_pods(lab, o.namespace, "ReplicaSet", o.name)
        ready = sum(1 for p in pods if pod_ready(p.status))
        want = o.manifest["spec"].get("replicas", 1)
        row = [o.name, want, len(pods), ready, age(o.created, now)] + (_wide_workload(o.manifest["spec"], selector_too=True) if wide else [])
        rows.append(([o.namespace] if namespace is None else []) + row)
        docs.append(_workload_doc(o, {"replicas": len(pods), "readyReplicas": ready}))
    if namespace is None:
        headers = ["NAMESPACE"] + headers
    return headers, rows, docs


def statefulsets(lab: Lab, namespace: str | None, selector: Selector | None, wide: bool):
    now = time.time()
    headers = ["NAME", "READY", "AGE"] + (["CONTAINERS", "IMAGES"] if wide else [])
    rows, docs = [], []
    for o in selected(lab.store.list("StatefulSet", namespace), selector):
        pods = _owned_pods(lab, o.namespace, "StatefulSet", o.name)
        ready = sum(1 for p in pods if pod_ready(p.status))
        want = o.manifest["spec"].get("replicas", 1)
        row = [o.name, f"{ready}/{want}", age(o.created, now)] + (_wide_workload(o.manifest["spec"], selector_too=False) if wide else [])
        rows.append(([o.namespace] if namespace is None else []) + row)
        docs.append(_workload_doc(o, {"replicas": len(pods), "readyReplicas": ready}))
    if namespace is None:
        headers = ["NAMESPACE"] + headers
    return headers, rows, docs


def _wide_workload(spec: dict[str, Any], selector_too: bool) -> list[str]:
    """kubectl's -o wide columns of a workload: CONTAINERS, IMAGES (and SELECTOR)."""
    containers = spec["template"]["spec"]["containers"]
    cols = [",".join(c["name"] for c in containers), ",".join(c["image"] for c in containers)]
    if selector_too:
        cols.append(",".join(f"{k}={v}" for k, v in spec["selector"].get("matchLabels", {}).items()) or "<none>")
    return cols
