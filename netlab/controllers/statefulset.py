"""The StatefulSet controller: ordinal pods with stable names and hostnames, one step at a time."""

from __future__ import annotations

from netlab.api.workloads import StatefulSet
from netlab.apiserver.state import Lab
from netlab.apiserver.store import StoredObject
from netlab.controllers.garbagecollector import owned, owner_ref
from netlab.controllers.workloads import (
    REVISION_LABEL,
    plan_statefulset,
    pod_manifest,
    replica_pod,
    template_hash,
)


def sync_statefulset(lab: Lab, o: StoredObject, ready: dict[tuple[str, str], bool]) -> bool:
    sts = StatefulSet.model_validate(o.manifest)
    template = sts.spec.template.to_dict()
    current = template_hash(template)
    pods = owned(lab, "Pod", o.namespace, "StatefulSet", o.name)
    step = plan_statefulset(
        o.name,
        sts.spec.replicas,
        sts.spec.podManagementPolicy == "Parallel",
        current,
        [(replica_pod(p, ready), (p.manifest["metadata"].get("labels") or {}).get(REVISION_LABEL, "")) for p in pods],
    )
    for i in step.create:
        name = f"{o.name}-{i}"
        manifest = pod_manifest(template, name, o.namespace, owner_ref("StatefulSet", o))
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
