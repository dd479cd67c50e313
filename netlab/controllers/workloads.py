"""Workload controllers (pure): Deployment → ReplicaSets, ReplicaSet → pods, StatefulSet → pods.

Each function looks at the current state and returns the next step, like one sync of the
upstream controllers (pkg/controller/deployment, replicaset, statefulset); the reconcile loop
calls them again until nothing changes, so a rollout proceeds step by step within the limits
of maxSurge and maxUnavailable while the Service keeps answering.
"""

from __future__ import annotations

import copy
import json
import math
import random
from dataclasses import dataclass, field
from typing import Any, Sequence

from netlab.apiserver.store import StoredObject

HASH_LABEL = "pod-template-hash"  # a Deployment's ReplicaSets and their pods
REVISION_LABEL = "controller-revision-hash"  # a StatefulSet's pods

# apimachinery's rand.SafeEncodeString alphabet: no vowels, no look-alike characters.
ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"


def safe_encode(text: str) -> str:
    return "".join(ALPHANUMS[ord(c) % len(ALPHANUMS)] for c in text)


def fnv32a(data: bytes) -> int:
    value = 0x811C9DC5
    for byte in data:
        value ^= byte
        value = (value * 0x01000193) & 0xFFFFFFFF
    return value


def template_hash(template: dict[str, Any]) -> str:
    """The pod-template-hash label value: a short, stable name for one version of a template."""
    canonical = json.dumps(template, sort_keys=True, separators=(",", ":")).encode()
    return safe_encode(str(fnv32a(canonical)))


def random_suffix(rng: random.Random, length: int = 5) -> str:
    return "".join(rng.choice(ALPHANUMS) for _ in range(length))


def resolve_int_or_percent(value: int | str, total: int, round_up: bool) -> int:
    if isinstance(value, int):
        return value
    fraction = int(value.rstrip("%")) * total / 100
    return math.ceil(fraction) if round_up else math.floor(fraction)


# -- Deployment --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplicaSetState:
    name: str
    hash: str
    replicas: int  # spec.replicas
    pods: int  # pods that exist
    available: int  # pods that are ready
    created: float
    revision: int = 0  # deployment.kubernetes.io/revision


@dataclass(frozen=True)
class DeploymentStep:
    create: str | None = None  # name of the new ReplicaSet to create (replicas in `scale`)
    scale: dict[str, int] = field(default_factory=dict)  # ReplicaSet name -> new spec.replicas
    delete: tuple[str, ...] = ()  # empty old ReplicaSets beyond revisionHistoryLimit

    @property
    def empty(self) -> bool:
        return self.create is None and not self.scale and not self.delete


def plan_deployment(
    name: str,
    replicas: int,
    strategy: str,
    max_surge: int | str,
    max_unavailable: int | str,
    current_hash: str,
    sets: Sequence[ReplicaSetState],
    history_limit: int = 10,
) -> DeploymentStep:
    new = next((s for s in sets if s.hash == current_hash), None)
    olds = sorted((s for s in sets if s.hash != current_hash), key=lambda s: s.created)
    create = None
    if new is None:
        create = f"{name}-{current_hash}"
        new = ReplicaSetState(create, current_hash, 0, 0, 0, float("inf"))
    current = {s.name: s.replicas for s in [new, *olds]}
    target = dict(current)

    if strategy == "Recreate":
        # All old pods go first; the new ReplicaSet scales up only when none is left.
        for old in olds:
            target[old.name] = 0
        if all(o.pods == 0 for o in olds):
            target[new.name] = replicas
    else:
        surge = resolve_int_or_percent(max_surge, replicas, round_up=True)
        unavailable = resolve_int_or_percent(max_unavailable, replicas, round_up=False)
        if surge == 0 and unavailable == 0:
            unavailable = 1
        # Scale the new ReplicaSet up, never beyond replicas + maxSurge pods in total.
        total = sum(target.values())
        if new.replicas < replicas:
            room = replicas + surge - total
            if room > 0:
                target[new.name] = min(replicas, new.replicas + room)
        elif new.replicas > replicas:
            target[new.name] = replicas
        # Scale old ones down, keeping at least replicas - maxUnavailable pods available.
        all_pods = sum(s.pods for s in [new, *olds])
        new_unavailable = max(target[new.name] - new.available, 0)
        budget = all_pods - (replicas - unavailable) - new_unavailable
        # Unhealthy old pods can go first: they serve nobody.
        for old in olds:
            unhealthy = max(old.replicas - old.available, 0)
            cut = min(unhealthy, max(budget, 0), target[old.name])
            target[old.name] -= cut
            budget -= cut
        for old in olds:
            if budget <= 0:
                break
            cut = min(target[old.name], budget)
            target[old.name] -= cut
            budget -= cut

    scale = {n: r for n, r in target.items() if n == create or r != current[n]}
    # cleanupDeployment: empty old ReplicaSets are the rollout history (`rollout undo` goes
    # back to one); only the oldest beyond revisionHistoryLimit are deleted.
    cleanable = sorted(
        (o for o in olds if target[o.name] == 0 and o.replicas == 0 and o.pods == 0), key=lambda o: (o.revision, o.created)
    )
    delete = tuple(o.name for o in cleanable[: max(len(cleanable) - history_limit, 0)])
    return DeploymentStep(create=create, scale=scale, delete=delete)


# -- ReplicaSet --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplicaPod:
    name: str
    ready: bool
    created: float
    node: str | None


def plan_replicaset(replicas: int, pods: Sequence[ReplicaPod]) -> tuple[int, tuple[str, ...]]:
    """(how many pods to create, which pods to delete) to reach `replicas`."""
    if len(pods) < replicas:
        return replicas - len(pods), ()
    # Like upstream's ActivePods ordering: unscheduled, then not ready, then newest go first.
    ranked = sorted(pods, key=lambda p: (p.node is not None, p.ready, -p.created))
    return 0, tuple(p.name for p in ranked[: len(pods) - replicas])


# -- StatefulSet -------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatefulStep:
    create: tuple[int, ...] = ()
    delete: tuple[str, ...] = ()


def ordinal(set_name: str, pod_name: str) -> int | None:
    prefix = set_name + "-"
    if pod_name.startswith(prefix) and pod_name[len(prefix) :].isdigit():
        return int(pod_name[len(prefix) :])
    return None


def plan_statefulset(
    name: str, replicas: int, parallel: bool, current_hash: str, pods: Sequence[tuple[ReplicaPod, str]]
) -> StatefulStep:
    """One step of the StatefulSet controller; `pods` pairs each pod with its revision hash.

    OrderedReady (the default): web-0, web-1, … are created one at a time, each only once the
    ones before it are Running and Ready; scale-down and updates go from the highest ordinal.
    """
    by_ordinal = {ordinal(name, p.name): (p, h) for p, h in pods}
    by_ordinal.pop(None, None)
    extra = sorted((i for i in by_ordinal if i >= replicas), reverse=True)
    if extra:
        doomed = extra if parallel else extra[:1]
        return StatefulStep(delete=tuple(by_ordinal[i][0].name for i in doomed))
    create = []
    for i in range(replicas):
        if i not in by_ordinal:
            create.append(i)
            if not parallel:
                break
        elif not by_ordinal[i][0].ready and not parallel:
            break
    if create:
        return StatefulStep(create=tuple(create))
    # Rolling update: replace the highest-ordinal pod of an old revision once all are ready.
    stale = sorted((i for i, (p, h) in by_ordinal.items() if h != current_hash), reverse=True)
    if stale and all(p.ready for p, _ in by_ordinal.values()):
        return StatefulStep(delete=(by_ordinal[stale[0]][0].name,))
    return StatefulStep()


def replica_pod(o: StoredObject, ready: dict[tuple[str, str], bool]) -> ReplicaPod:
    """What the plans need to know of one stored pod."""
    return ReplicaPod(o.name, ready.get((o.namespace, o.name), False), o.created, o.status.get("nodeName"))


def pod_manifest(template: dict[str, Any], name: str, namespace: str, owner: dict[str, Any]) -> dict[str, Any]:
    """A pod made from a workload's template, owned by `owner` (an ownerReference)."""
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
