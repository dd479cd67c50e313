"""What the CLI's writing commands ask of a lab: the apiserver's write, then one reconcile.

`apply`, `delete` and `scale` go through admission and the registry (`netlab/apiserver/`), then
the lab converges at once, so the command returns when the pods, rules and DNS are in place.
Each runs inside `writing(cluster)`: the lab's lock, the lab read again under it, and the
lab's control plane woken afterwards (started if it does not run), so it takes over from there.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Sequence

from netlab.api.kinds import ApiObject
from netlab.apiserver import registry
from netlab.apiserver.registry import Change
from netlab.apiserver.state import Lab, locked, open_lab
from netlab.lab import controlplane
from netlab.lab.reconcile import Outcome, reconcile


@contextmanager
def writing(cluster: str) -> Iterator[Lab]:
    """The lab for one write. Opened under the lock, so a lab deleted while this command waited
    is reported missing (NotFound), never resurrected; on success the control plane is woken."""
    with locked(cluster):
        lab = open_lab(cluster)
        try:
            yield lab
        finally:
            lab.close()
    controlplane.ensure_running(cluster)
    controlplane.wake(cluster)


def apply(lab: Lab, objects: Sequence[ApiObject], where: Sequence[str] | None = None) -> tuple[list[Change], Outcome]:
    changes = registry.apply(lab, objects, where)
    return changes, reconcile(lab)


def delete(lab: Lab, refs: Sequence[tuple[str, str, str]], *, ignore_not_found: bool = False) -> tuple[list[Change], Outcome]:
    """Delete (kind, namespace, name) objects; deleting a Namespace deletes what is in it."""
    changes = registry.delete(lab, refs, ignore_not_found=ignore_not_found)
    return changes, reconcile(lab)


def scale(lab: Lab, kind: str, namespace: str, name: str, replicas: int) -> tuple[Change, Outcome]:
    change = registry.scale(lab, kind, namespace, name, replicas)
    return change, reconcile(lab)
