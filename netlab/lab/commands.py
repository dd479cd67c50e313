"""What the CLI's writing commands ask of a lab — kubectl's verbs, the apiserver's answer.

`apply`, `delete` and `scale` play kubectl and apiserver: admission and the registry
(`netlab/apiserver/`) store the change under the lab's lock with a new revision; then the
lab's control plane, woken by a datagram, converges the lab and answers. By default the command
returns once the sandboxes, rules and DNS reflect the change (so `apply` then `exec` works in
scripts); with `wait=False` as soon as the change is stored, like kubectl. None of this imports
the reconcile, so these commands start fast.

Commands that act on the kernel themselves (`node fail`, …) run inside `writing(cluster)`.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator, Sequence

from netlab.api.labels import Selector
from netlab.apiserver import registry
from netlab.apiserver.registry import Change
from netlab.apiserver.state import Lab, locked, open_lab
from netlab.lab import controlplane

if TYPE_CHECKING:
    from netlab.api.kinds import ApiObject


@contextmanager
def stored(cluster: str) -> Iterator[Lab]:
    """The lab for one write. Opened under the lock, so a lab deleted while this command waited
    is reported missing (NotFound), never resurrected."""
    with locked(cluster):
        lab = open_lab(cluster)
        try:
            yield lab
        finally:
            lab.close()


@contextmanager
def writing(cluster: str) -> Iterator[Lab]:
    """`stored`, for commands that converge the lab themselves; the control plane is woken
    afterwards (started if it does not run) to carry on from there."""
    with stored(cluster) as lab:
        yield lab
    controlplane.ensure_running(cluster)
    controlplane.wake(cluster)


def settle(cluster: str, revision: int, wait: bool = True) -> tuple[str, ...]:
    """Hand the stored change to the control plane; with `wait`, until the lab reflects it.
    Returns what could not be done (a partial failure)."""
    if not wait:
        controlplane.ensure_running(cluster)
        controlplane.wake(cluster)
        return ()
    try:
        return controlplane.converge(cluster, revision).problems
    except controlplane.ControlPlaneDown as exc:
        return (str(exc),)


def apply(cluster: str, objects: Sequence[ApiObject], where: Sequence[str] | None = None, *, wait: bool = True) -> tuple[list[Change], tuple[str, ...]]:
    with stored(cluster) as lab:
        changes = registry.apply(lab, objects, where)
        revision = lab.store.revision()
    return changes, settle(cluster, revision, wait)


def delete(
    cluster: str, refs: Sequence[tuple[str, str, str]], *, ignore_not_found: bool = False, wait: bool = True
) -> tuple[list[Change], tuple[str, ...]]:
    """Delete (kind, namespace, name) objects; deleting a Namespace deletes what is in it."""
    with stored(cluster) as lab:
        changes = registry.delete(lab, refs, ignore_not_found=ignore_not_found)
        revision = lab.store.revision()
    return changes, settle(cluster, revision, wait)


def delete_selected(
    cluster: str, kinds: Sequence[str], namespace: str | None, selector: Selector | None, *, wait: bool = True
) -> tuple[list[Change], tuple[str, ...]]:
    """kubectl delete KINDS -l SELECTOR / --all: every object of those kinds (in `namespace`,
    or all namespaces when None) whose labels match (all of them without a selector), chosen
    and deleted under one lock."""
    with stored(cluster) as lab:
        refs = [
            (o.kind, o.namespace, o.name)
            for kind in kinds
            for o in lab.store.list(kind, namespace if kind != "Namespace" else None)
            if selector is None or selector.matches((o.manifest.get("metadata") or {}).get("labels") or {})
        ]
        changes = registry.delete(lab, refs, ignore_not_found=True)
        revision = lab.store.revision()
    return changes, settle(cluster, revision, wait) if changes else ()


def scale(cluster: str, kind: str, namespace: str, name: str, replicas: int) -> tuple[Change, tuple[str, ...]]:
    with stored(cluster) as lab:
        change = registry.scale(lab, kind, namespace, name, replicas)
        revision = lab.store.revision()
    return change, settle(cluster, revision)
