"""Read manifests the way `kubectl apply -f` does and validate every document into its model.

Sources are files, directories (their *.yaml, *.yml and *.json files, sorted, not recursive)
or `-` for stdin, read into documents by documents.py; here each document is checked (kind,
apiVersion, namespace against `-n`) and validated by its kind's model. Every problem in every
document is collected and raised at once as one InvalidInput, one line each: `web.yaml:
Service default/web: spec.ports[0].port: Invalid value: 0: must be between 1 and 65535,
inclusive`. Nothing is half-loaded.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

from pydantic import ValidationError

from netlab.api import names
from netlab.api.documents import Collector, Document, read_documents
from netlab.api.field import problems_from_validation_error
from netlab.api.kinds import BY_KIND, NAMESPACED_KINDS, obj_key
from netlab.api.labels import Selector, parse_label_selector, selector_from_dict
from netlab.api.meta import ignored_fields
from netlab.errors import InvalidInput

if TYPE_CHECKING:
    from netlab.api.kinds import ApiObject

__all__ = [
    "LoadResult",
    "Selector",
    "load_manifests",
    "parse_label_selector",
    "selector_from_dict",
]

# Kubernetes kinds a manifest may well contain next to Pods and Services; netlab skips them
# with a warning instead of failing the whole apply. Anything else is most likely a typo.
SKIPPED_KINDS = frozenset(
    {
        "DaemonSet", "Job", "CronJob", "ReplicationController", "PodTemplate",
        "Endpoints", "EndpointSlice", "PersistentVolume", "PersistentVolumeClaim", "StorageClass",
        "HorizontalPodAutoscaler", "PodDisruptionBudget", "LimitRange", "ResourceQuota",
        "PriorityClass", "CustomResourceDefinition", "Node", "Event",
    }
)  # fmt: skip

# Stored and shown, never enforced (api/rbac.py): `apply` says so once, not per object.
RBAC_KINDS = frozenset({"ServiceAccount", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"})
RBAC_NOT_ENFORCED = (
    "netlab stores and shows ServiceAccounts, Roles, ClusterRoles and their bindings but does not "
    "enforce RBAC: every request is allowed"
)


_CLUSTER_SCOPED_SKIPPED_KINDS = frozenset(
    {
        "PersistentVolume", "StorageClass", "PriorityClass", "CustomResourceDefinition", "Node",
    }
)  # fmt: skip


def _namespaced(kind: str) -> bool:
    """Whether problems name an object of this kind as namespace/name."""
    if kind in SKIPPED_KINDS:
        return kind not in _CLUSTER_SCOPED_SKIPPED_KINDS
    return kind in NAMESPACED_KINDS


@dataclass(frozen=True)
class LoadResult:
    objects: tuple[ApiObject, ...]  # document order; namespaced kinds have their namespace set
    warnings: tuple[str, ...]
    sources: tuple[str, ...] = ()  # the file each object came from, for later error messages


def load_manifests(
    sources: Sequence[str | os.PathLike[str]],
    default_namespace: str = "default",
    stdin: TextIO | None = None,
    explicit_namespace: bool = False,
) -> LoadResult:
    """Load and validate every object; raise InvalidInput listing all problems found.

    `explicit_namespace` says the user passed `-n`: then, as kubectl does, an object naming a
    different namespace is an error instead of going to its own namespace.
    """
    ns_errors = names.dns1123_label_errors(default_namespace)
    if ns_errors:
        raise InvalidInput(f'namespace "{default_namespace}": {"; ".join(ns_errors)}')
    if not sources:
        raise InvalidInput("no manifests given: name files, directories or - for stdin")
    if isinstance(sources, str):  # one path, not a sequence of one-letter paths
        sources = [sources]

    out = Collector(problems=[], warnings=[])
    objects: list[ApiObject] = []
    origins: list[str] = []
    first_seen: dict[tuple[str, str, str], str] = {}
    for document in read_documents(sources, stdin, out):
        subject = _subject(document, default_namespace)
        obj = _load_document(document, subject, default_namespace, explicit_namespace, out)
        if obj is None:
            continue
        key = obj_key(obj)
        where = f"{document.source} {document.label}"
        if key in first_seen:
            out.problems.append(
                f'{document.source}: {subject}: metadata.name: Duplicate value: "{key[2]}": '
                f"also defined in {first_seen[key]}"
            )
            continue
        first_seen[key] = where
        objects.append(obj)
        origins.append(document.source)
    if out.problems:
        raise InvalidInput(out.problems)
    if any(o.kind in RBAC_KINDS for o in objects):  # said once per apply, not per object
        out.warnings.append(RBAC_NOT_ENFORCED)
    return LoadResult(objects=tuple(objects), warnings=tuple(out.warnings), sources=tuple(origins))


def load_references(
    sources: Sequence[str | os.PathLike[str]], default_namespace: str = "default", stdin: TextIO | None = None
) -> list[tuple[str, str, str]]:
    """(kind, namespace, name) of each document, for `delete -f`: like kubectl, an object
    needs only apiVersion, kind and metadata.name to be deleted (no spec, no validation)."""
    out = Collector(problems=[], warnings=[])
    refs: list[tuple[str, str, str]] = []
    for document in read_documents(sources, stdin, out):
        data = document.data
        subject = _subject(document, default_namespace)
        kind = data.get("kind") if isinstance(data, dict) else None
        meta = data.get("metadata") if isinstance(data, dict) else None
        name = meta.get("name") if isinstance(meta, dict) else None
        if kind in SKIPPED_KINDS:
            out.warnings.append(f"{document.source}: {subject}: kind {kind} is not modelled by netlab, skipped")
            continue
        if not _modelled(kind) or not isinstance(name, str) or not name:
            out.problems.append(f"{document.source}: {subject}: needs a kind netlab knows and metadata.name")
            continue
        namespace = meta.get("namespace") if _namespaced(kind) else ""
        refs.append((kind, namespace if isinstance(namespace, str) and namespace else ("" if not _namespaced(kind) else default_namespace), name))
    if out.problems:
        raise InvalidInput(out.problems)
    return refs


# --- one document -------------------------------------------------------------------------------


def _subject(document: Document, default_namespace: str) -> str:
    """How a problem names its object: `Pod default/web`, `Namespace team-a`, `document 2`."""
    data = document.data
    if not isinstance(data, dict) or not isinstance(data.get("kind"), str) or not data["kind"]:
        return document.label
    kind = data["kind"]
    meta = data.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    if not isinstance(name, str) or not name:
        return f"{kind} in {document.label}"
    if not _namespaced(kind):
        return f"{kind} {name}"
    namespace = meta.get("namespace")
    if not isinstance(namespace, str) or not namespace:
        namespace = default_namespace
    return f"{kind} {namespace}/{name}"


def _modelled(kind: object) -> bool:
    """A kind `apply` takes. Its model is imported when a document of it is validated, not
    before: building the pydantic classes of every kind cost an `apply` of pods 0.3 s."""
    info = BY_KIND.get(kind) if isinstance(kind, str) else None
    return info is not None and info.modelled


def _load_document(
    document: Document,
    subject: str,
    default_namespace: str,
    explicit_namespace: bool,
    out: Collector,
) -> ApiObject | None:
    source, data = document.source, document.data

    def problem(path: str, message: str) -> None:
        out.problems.append(f"{source}: {subject}: {path}: {message}")

    if not isinstance(data, dict):
        out.problems.append(
            f"{source}: {document.label}: expected an object with apiVersion and kind, "
            f"got {type(data).__name__}"
        )
        return None
    kind = data.get("kind")
    if not isinstance(kind, str) or not kind:
        problem("kind", "Required value")
        return None
    if kind == "Cluster":
        problem(
            "kind",
            "a Cluster is netlab's cluster config, not a manifest; "
            f"use `netlab cluster create --config {source}`",
        )
        return None
    if kind in SKIPPED_KINDS:
        out.warnings.append(f"{source}: {subject}: kind {kind} is not modelled by netlab, skipped")
        return None
    if not _modelled(kind):
        supported = ", ".join(f'"{k.kind}"' for k in BY_KIND.values() if k.modelled)
        problem("kind", f'Unsupported value: "{kind}": supported values: {supported}, "List"')
        return None
    if "apiVersion" not in data:
        problem("apiVersion", "Required value")
        return None

    mismatch = _namespace_mismatch(data, kind, default_namespace, explicit_namespace)
    if mismatch:
        problem("metadata.namespace", mismatch)
        return None
    data = _with_namespace(data, kind, default_namespace)

    try:
        obj = BY_KIND[kind].model.model_validate(data)
    except ValidationError as exc:
        for field_problem in problems_from_validation_error(exc):
            out.problems.append(f"{source}: {subject}: {field_problem}")
        return None
    for ignored in ignored_fields(obj):
        out.warnings.append(f"{source}: {subject}: {ignored}")
    return obj


def _namespace_mismatch(
    data: dict[str, Any], kind: str, default_namespace: str, explicit_namespace: bool
) -> str | None:
    """kubectl refuses an object whose namespace contradicts an explicit `-n`."""
    meta = data.get("metadata")
    given = meta.get("namespace") if isinstance(meta, dict) else None
    if not explicit_namespace or kind not in NAMESPACED_KINDS or given in (None, ""):
        return None
    if given == default_namespace:
        return None
    return (
        f'the namespace from the provided object "{given}" does not match the namespace '
        f"\"{default_namespace}\". You must pass '--namespace={given}' to perform this operation."
    )


def _with_namespace(data: dict[str, Any], kind: str, default_namespace: str) -> dict[str, Any]:
    """The document without status, its namespace filled in (namespaced) or dropped (not)."""
    data = {k: v for k, v in data.items() if k != "status"}  # status is observed, never input
    meta = data.get("metadata")
    if not isinstance(meta, dict):
        return data  # validation reports it
    if kind not in NAMESPACED_KINDS:
        data["metadata"] = {k: v for k, v in meta.items() if k != "namespace"}
    elif meta.get("namespace") in (None, ""):
        data["metadata"] = {**meta, "namespace": default_namespace}
    return data
