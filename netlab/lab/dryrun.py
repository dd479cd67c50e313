"""`apply --dry-run=client|server` and `diff -f`: what an apply would do, nothing stored.

The server dry run is the real write — admission, defaulting, cluster IP and NodePort
allocation — inside a store transaction that is rolled back, as the apiserver's dryRun runs
every stage but persistence. `diff` compares the stored object with what the apply would
store (kubectl diff's LIVE and MERGED)."""

from __future__ import annotations

import difflib
import os
import tempfile
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

from netlab.api.kinds import BY_KIND
from netlab.apiserver import registry
from netlab.apiserver.admission import manifest, object_namespace, validate
from netlab.apiserver.registry import Change
from netlab.apiserver.state import exists, open_lab
from netlab.errors import InvalidInput
from netlab.lab.commands import stored

if TYPE_CHECKING:
    from netlab.api.kinds import ApiObject


class _RollBack(Exception):
    def __init__(self, changes: list[Change], allocated: dict[tuple[str, str, str], dict[str, Any]]) -> None:
        self.changes, self.allocated = changes, allocated


@dataclass(frozen=True)
class DryRun:
    changes: list[Change]
    allocated: dict[tuple[str, str, str], dict[str, Any]]  # what the apiserver would assign (status)


def server(cluster: str, objects: Sequence[ApiObject], where: Sequence[str] | None = None) -> DryRun:
    with stored(cluster) as lab:
        try:
            with lab.store.transaction():
                changes = registry.apply(lab, objects, where)
                allocated = {}
                for o in objects:
                    key = (o.kind, object_namespace(o), o.metadata.name)
                    got = lab.store.get(*key)
                    allocated[key] = dict(got.status) if got else {}
                raise _RollBack(changes, allocated)
        except _RollBack as done:
            return DryRun(done.changes, done.allocated)


def client(cluster: str, objects: Sequence[ApiObject]) -> list[Change]:
    """Validated locally (the loader did); created/configured/unchanged by a look at the store."""
    if not exists(cluster):
        return [Change(o.kind, object_namespace(o), o.metadata.name, "created") for o in objects]
    lab = open_lab(cluster)
    try:
        changes = []
        for o in objects:
            live = lab.store.get(o.kind, object_namespace(o), o.metadata.name)
            verb = "created" if live is None else "unchanged" if live.manifest == manifest(o) else "configured"
            changes.append(Change(o.kind, object_namespace(o), o.metadata.name, verb))
        return changes
    finally:
        lab.close()


def diff(cluster: str, objects: Sequence[ApiObject], where: Sequence[str] | None = None) -> str:
    """kubectl diff's output: a unified diff per object whose stored form would change."""
    import yaml

    with stored(cluster) as lab:
        problems = validate(lab, objects, list(where) if where is not None else ["<input>"] * len(objects))
        if problems:
            raise InvalidInput(problems)
        live = {}
        for o in objects:
            got = lab.store.get(o.kind, object_namespace(o), o.metadata.name)
            live[id(o)] = got.manifest if got else None
    tmp = tempfile.gettempdir()
    live_dir, merged_dir = os.path.join(tmp, f"LIVE-{os.getpid()}"), os.path.join(tmp, f"MERGED-{os.getpid()}")
    out = []
    for o in objects:
        before, after = live[id(o)], manifest(o)
        if before == after:
            continue
        info = BY_KIND[o.kind]
        version = f"{info.group}.v1" if info.group else "v1"
        name = f"{version}.{o.kind}.{object_namespace(o) + '.' if object_namespace(o) else ''}{o.metadata.name}"
        a, b = os.path.join(live_dir, name), os.path.join(merged_dir, name)
        text_a = yaml.safe_dump(before, sort_keys=True) if before is not None else ""
        text_b = yaml.safe_dump(after, sort_keys=True)
        out.append(f"diff -u -N {a} {b}\n")
        out += difflib.unified_diff(text_a.splitlines(keepends=True), text_b.splitlines(keepends=True), a, b)
    return "".join(out)
