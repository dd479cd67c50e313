"""The apiserver's PATCH, as `netlab edit` sends it: a JSON merge patch applied to the stored
object, the result validated, admitted and stored like any `apply` (with what the apiserver
allocates), then the lab converges — unless `wait=False`.

Only what the user changed travels: the fields `get -o yaml` shows but the user did not write
(status, defaults, the allocated clusterIP, the pod's nodeName) stay as the store has them.
A refusal comes back as `Invalid` with the apiserver's causes (`spec.type: Unsupported value:
…`), which `edit` writes at the top of the file it opens again.
"""

from __future__ import annotations

from typing import Any

from netlab.api.field import problems_from_validation_error
from netlab.api.kinds import BY_KIND, object_from_dict
from netlab.apiserver import mergepatch, registry
from netlab.apiserver.registry import Change
from netlab.errors import InvalidInput, NotFound
from netlab.lab.commands import settle, stored

SOURCE = "<edited>"
# Fields the apiserver keeps itself: an edit of them is not the user's to make.
SERVER_METADATA = ("uid", "resourceVersion", "generation", "creationTimestamp", "managedFields", "selfLink")


class Invalid(InvalidInput):
    """The patched object was refused; `causes` are kubectl's `FIELD: MESSAGE` lines."""

    def __init__(self, causes: list[str]) -> None:
        super().__init__(causes)
        self.causes = list(causes)


def _causes(problems: list[str], prefix: str) -> list[str]:
    return [p[len(prefix):] if p.startswith(prefix) else p for p in problems]


def patch(cluster: str, kind: str, namespace: str, name: str, changes: dict[str, Any], *, wait: bool = True) -> tuple[Change, tuple[str, ...]]:
    """Merge `changes` into the stored object and store it; raises NotFound or Invalid."""
    from pydantic import ValidationError

    info = BY_KIND[kind]
    namespace = namespace if info.namespaced else ""
    changes = {k: v for k, v in changes.items() if k != "status"}  # status is not the object's to edit
    if isinstance(changes.get("metadata"), dict):
        changes["metadata"] = {k: v for k, v in changes["metadata"].items() if k not in SERVER_METADATA}
    subject = f"{kind} {namespace + '/' if namespace else ''}{name}"
    with stored(cluster) as lab:
        current = lab.store.get(kind, namespace, name)
        if current is None:
            raise NotFound(f'{info.qualified_plural} "{name}" not found')
        merged = mergepatch.apply(current.manifest, changes)
        try:
            obj = object_from_dict(merged)
        except ValidationError as exc:
            raise Invalid([str(p) for p in problems_from_validation_error(exc)]) from None
        try:
            [change] = registry.apply(lab, [obj], [SOURCE])
        except InvalidInput as exc:
            raise Invalid(_causes(exc.problems, f"{SOURCE}: {subject}: ")) from None
        revision = lab.store.revision()
    return change, settle(cluster, revision, wait)
