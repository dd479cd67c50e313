"""`rollout status` and `rollout history`, read as kubectl reads them (kubectl's
DeploymentStatusViewer, StatefulSetStatusViewer and DeploymentHistoryViewer)."""

from __future__ import annotations

from typing import Any

from netlab.apiserver.state import Lab
from netlab.apiserver.store import StoredObject
from netlab.controllers.garbagecollector import owned
from netlab.controllers.rollouthistory import Revision, current_template, get_workload, history, revision_template
from netlab.errors import InvalidInput
from netlab.kubelet.status import pod_ready

__all__ = ["Revision", "history", "revision_template", "status", "describe_template", "check_kind"]


def deployment_status_message(name: str, replicas: int, updated: int, total: int, available: int) -> tuple[str, bool]:
    """The line kubectl prints, and whether the rollout is done."""
    prefix = f'Waiting for deployment "{name}" rollout to finish: '
    if updated < replicas:
        return prefix + f"{updated} out of {replicas} new replicas have been updated...", False
    if total > updated:
        return prefix + f"{total - updated} old replicas are pending termination...", False
    if available < updated:
        return prefix + f"{available} of {updated} updated replicas are available...", False
    return f'deployment "{name}" successfully rolled out', True


def statefulset_status_message(replicas: int, ready: int, updated: int, revision: str) -> tuple[str, bool]:
    if ready < replicas:
        return f"Waiting for {replicas - ready} pods to be ready...", False
    if updated < replicas:
        return f"waiting for statefulset rolling update to complete {updated} pods at revision {revision}...", False
    return f"statefulset rolling update complete {replicas} pods at revision {revision}...", True


def status(lab: Lab, kind: str, namespace: str, name: str) -> tuple[str, bool]:
    from netlab.controllers.workloads import HASH_LABEL, REVISION_LABEL, template_hash

    o = get_workload(lab, kind, namespace, name)
    spec = o.manifest["spec"]
    replicas = spec.get("replicas", 1)
    current = template_hash(current_template(o))
    if kind == "Deployment":
        pods = [p for rs in owned(lab, "ReplicaSet", namespace, "Deployment", name) for p in owned(lab, "Pod", namespace, "ReplicaSet", rs.name)]
        updated = [p for p in pods if _labels(p).get(HASH_LABEL) == current]
        available = sum(1 for p in updated if pod_ready(p.status))
        return deployment_status_message(name, replicas, len(updated), len(pods), available)
    pods = owned(lab, "Pod", namespace, "StatefulSet", name)
    ready = sum(1 for p in pods if pod_ready(p.status))
    updated = sum(1 for p in pods if _labels(p).get(REVISION_LABEL) == current)
    return statefulset_status_message(replicas, ready, updated, f"{name}-{current}")


def describe_template(template: dict[str, Any]) -> list[str]:
    """kubectl's `Pod Template:` block (DescribePodTemplate), the fields netlab knows."""
    meta = template.get("metadata") or {}
    lines = ["Pod Template:"]
    lines += _map_lines("  Labels:", meta.get("labels") or {})
    if meta.get("annotations"):
        lines += _map_lines("  Annotations:", meta["annotations"])
    lines.append("  Containers:")
    for c in (template.get("spec") or {}).get("containers") or []:
        lines.append(f"   {c['name']}:")
        lines.append(f"    Image:\t{c['image']}")
        ports = ", ".join(f"{p['containerPort']}/{p.get('protocol', 'TCP')}" for p in c.get("ports") or [])
        lines.append(f"    Port:\t{ports or '<none>'}")
        if c.get("command"):
            lines.append("    Command:")
            lines += [f"      {w}" for w in c["command"]]
        if c.get("args"):
            lines.append("    Args:")
            lines += [f"      {w}" for w in c["args"]]
        env = c.get("env") or []
        lines.append("    Environment:" + ("\t<none>" if not env else ""))
        lines += [f"      {e['name']}:\t{e.get('value', '(from the Downward API)')}" for e in env]
    return lines


def _map_lines(title: str, values: dict[str, str]) -> list[str]:
    if not values:
        return [f"{title}\t<none>"]
    items = [f"{k}={v}" for k, v in sorted(values.items())]
    return [f"{title}\t{items[0]}"] + [f"\t{item}" for item in items[1:]]


def _labels(o: StoredObject) -> dict[str, str]:
    return (o.manifest.get("metadata") or {}).get("labels") or {}


def check_kind(kind: str, verb: str) -> None:
    if kind == "StatefulSet" and verb in ("history", "undo"):
        raise InvalidInput(f"rollout {verb} of a StatefulSet needs ControllerRevisions, which netlab does not keep; use `netlab apply` with the old template")
    if kind not in ("Deployment", "StatefulSet"):
        raise InvalidInput(f"no {verb} for this kind: rollout works on deployments and statefulsets")


