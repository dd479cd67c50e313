"""The controller manager: one pass of every controller that turns desired objects into pods.

Node lifecycle evicts what a failed node held, the garbage collector removes what lost its
owner, the service account controller gives each namespace its `default` ServiceAccount, then the Deployment, ReplicaSet and StatefulSet controllers each take one step of
their pure plans (`workloads.py`). Pods they make carry an ownerReference to their ReplicaSet
or StatefulSet (and ReplicaSets to their Deployment).
"""

from __future__ import annotations

from netlab.apiserver.state import Lab
from netlab.controllers.deployment import sync_deployment
from netlab.controllers.garbagecollector import collect_garbage
from netlab.controllers.nodelifecycle import evict_lost
from netlab.controllers.replicaset import sync_replicaset
from netlab.controllers.serviceaccounts import ensure_default_accounts
from netlab.controllers.statefulset import sync_statefulset


def run(lab: Lab, ready: dict[tuple[str, str], bool]) -> bool:
    """One pass of every workload controller; True when it changed the store."""
    store = lab.store
    changed = evict_lost(lab)
    changed |= collect_garbage(lab)
    changed |= ensure_default_accounts(lab)
    with store.transaction():
        for o in store.list("Deployment"):
            changed |= sync_deployment(lab, o, ready)
        for o in store.list("ReplicaSet"):
            changed |= sync_replicaset(lab, o, ready)
        for o in store.list("StatefulSet"):
            changed |= sync_statefulset(lab, o, ready)
    return changed
