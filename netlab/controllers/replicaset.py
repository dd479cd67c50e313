"""The ReplicaSet controller: create or delete pods until the replica count holds."""

from __future__ import annotations

import random

from netlab.api.workloads import ReplicaSet
from netlab.apiserver.state import Lab
from netlab.apiserver.store import StoredObject
from netlab.controllers.garbagecollector import owned, owner_ref
from netlab.controllers.workloads import (
    plan_replicaset,
    pod_manifest,
    random_suffix,
    replica_pod,
)


def sync_replicaset(lab: Lab, o: StoredObject, ready: dict[tuple[str, str], bool]) -> bool:
    rs = ReplicaSet.model_validate(o.manifest)
    pods = owned(lab, "Pod", o.namespace, "ReplicaSet", o.name)
    create, delete = plan_replicaset(rs.spec.replicas, [replica_pod(p, ready) for p in pods])
    rng = random.Random()
    taken = {p.name for p in lab.store.list("Pod", o.namespace)}
    template = rs.spec.template.to_dict()
    for _ in range(create):
        name = f"{o.name}-{random_suffix(rng)}"
        while name in taken:
            name = f"{o.name}-{random_suffix(rng)}"
        taken.add(name)
        lab.store.put("Pod", o.namespace, name, pod_manifest(template, name, o.namespace, owner_ref("ReplicaSet", o)))
        lab.store.add_event("ReplicaSet", o.namespace, o.name, "SuccessfulCreate", f"Created pod: {name}")
    for name in delete:
        lab.store.delete("Pod", o.namespace, name)
        lab.store.add_event("ReplicaSet", o.namespace, o.name, "SuccessfulDelete", f"Deleted pod: {name}")
    return bool(create or delete)
