"""The service account controller (pkg/controller/serviceaccount): every namespace has a
ServiceAccount named `default` — made when the namespace is, made again when deleted. It is
data only: netlab mounts no tokens and enforces no RBAC."""

from __future__ import annotations

from netlab.apiserver.state import Lab

DEFAULT = "default"


def ensure_default_accounts(lab: Lab) -> bool:
    """True when it created one."""
    store = lab.store
    have = {o.namespace for o in store.list("ServiceAccount") if o.name == DEFAULT}
    missing = [o.name for o in store.list("Namespace") if o.name not in have]
    if not missing:
        return False
    with store.transaction():
        for namespace in missing:
            store.put("ServiceAccount", namespace, DEFAULT, {
                "apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": DEFAULT, "namespace": namespace},
            })  # fmt: skip
    return True
