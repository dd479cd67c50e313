"""The garbage collector: objects whose controlling owner is gone are deleted (background policy).

Also the one reading of ownerReferences the rest of the code uses (`owner_of`, `owned`).
"""

from __future__ import annotations

from typing import Any

from netlab.apiserver.state import Lab
from netlab.apiserver.store import StoredObject


def owner_of(obj: StoredObject) -> tuple[str, str] | None:
    for ref in (obj.manifest.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref["kind"], ref["name"]
    return None


def owner_ref(kind: str, obj: StoredObject) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": kind, "name": obj.name, "uid": obj.uid, "controller": True, "blockOwnerDeletion": True}


def collect_garbage(lab: Lab) -> bool:
    """Delete objects whose owner is gone (Kubernetes' garbage collector, background policy)."""
    changed = False
    for kind in ("ReplicaSet", "Pod"):
        for o in lab.store.list(kind):
            owner = owner_of(o)
            if owner and lab.store.get(owner[0], o.namespace, owner[1]) is None:
                lab.store.delete(kind, o.namespace, o.name)
                changed = True
    return changed


def owned(lab: Lab, kind: str, namespace: str, owner_kind: str, owner_name: str) -> list[StoredObject]:
    return [o for o in lab.store.list(kind, namespace) if owner_of(o) == (owner_kind, owner_name)]
