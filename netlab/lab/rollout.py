"""`rollout restart` and `rollout undo`: the template changes kubectl sends, stored like any
write and then converged by the control plane (the Deployment controller does the rollout)."""

from __future__ import annotations

import copy
import datetime as dt

from netlab.controllers import rollouthistory
from netlab.errors import InvalidInput, NotFound
from netlab.lab.commands import settle, stored

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"


def restart(cluster: str, kind: str, namespace: str, name: str, now: dt.datetime | None = None) -> tuple[str, ...]:
    """kubectl's restart: a `restartedAt` annotation on the pod template, so the template (and
    its hash) changes and the controller replaces every pod as in any rollout."""
    stamp = (now or dt.datetime.now(dt.timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with stored(cluster) as lab:
        o = rollouthistory.get_workload(lab, kind, namespace, name)
        manifest = copy.deepcopy(o.manifest)
        meta = manifest["spec"]["template"].setdefault("metadata", {})
        meta["annotations"] = {**(meta.get("annotations") or {}), RESTARTED_AT: stamp}
        with lab.store.transaction():
            lab.store.put(kind, namespace, name, manifest)
        revision = lab.store.revision()
    return settle(cluster, revision)


def undo(cluster: str, namespace: str, name: str, to_revision: int = 0) -> tuple[str, tuple[str, ...]]:
    """Put a revision's pod template back into the Deployment (kubectl's DeploymentRollbacker):
    the previous revision by default. Returns kubectl's verb (`rolled back`, or `skipped
    rollback (…)`) and the problems of converging."""
    from netlab.controllers.deployment import CHANGE_CAUSE_ANNOTATION
    from netlab.controllers.workloads import template_hash
    rollout = rollouthistory

    with stored(cluster) as lab:
        o = rollout.get_workload(lab, "Deployment", namespace, name)
        revisions = rollout.history(lab, namespace, name)
        if to_revision == 0:
            if len(revisions) < 2:
                raise InvalidInput(f'no rollout history found for deployment "{name}": no last revision to roll back to')
            chosen = revisions[-2]
        else:
            found = [r for r in revisions if r.number == to_revision]
            if not found:
                raise NotFound(f"unable to find specified revision {to_revision} in history")
            chosen = found[0]
        template = rollout.revision_template(chosen)
        if template_hash(template) == template_hash(rollout.current_template(o)):
            return f"skipped rollback (current template already matches revision {chosen.number})", ()
        manifest = copy.deepcopy(o.manifest)
        manifest["spec"]["template"] = template
        annotations = dict(manifest["metadata"].get("annotations") or {})
        annotations.pop(CHANGE_CAUSE_ANNOTATION, None)
        if chosen.change_cause is not None:
            annotations[CHANGE_CAUSE_ANNOTATION] = chosen.change_cause
        if annotations:
            manifest["metadata"]["annotations"] = annotations
        else:
            manifest["metadata"].pop("annotations", None)
        with lab.store.transaction():
            lab.store.put("Deployment", namespace, name, manifest)
        revision = lab.store.revision()
    return "rolled back", settle(cluster, revision)
