"""`label` and `annotate`: kubectl's edits of an object's metadata, admitted and stored like
any write (a Pod's new labels move it in or out of a Service's endpoints at the next
reconcile)."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Sequence

from netlab.api.kinds import BY_KIND, object_from_dict
from netlab.api.labels import Selector
from netlab.apiserver import registry
from netlab.errors import InvalidInput, NotFound
from netlab.lab.commands import settle, stored


@dataclass(frozen=True)
class Edit:
    """KEY=VALUE sets, KEY- removes."""

    key: str
    value: str | None


def parse_edits(words: Sequence[str]) -> list[Edit]:
    edits = []
    for word in words:
        if word.endswith("-") and "=" not in word:
            edits.append(Edit(word[:-1], None))
        elif "=" in word:
            key, _, value = word.partition("=")
            edits.append(Edit(key, value))
        else:
            raise InvalidInput(f"invalid label spec: {word} (use KEY=VALUE or KEY-)")
    if not edits:
        raise InvalidInput("at least one label update is required")
    return edits


@dataclass(frozen=True)
class Outcome:
    kind: str
    name: str
    changed: bool


def edit(
    cluster: str,
    field: str,  # "labels" | "annotations"
    kind: str,
    namespace: str | None,
    names: Sequence[str],
    selector: Selector | None,
    edits: Sequence[Edit],
    overwrite: bool,
) -> tuple[list[Outcome], list[str], tuple[str, ...]]:
    """Apply the edits to the named objects, or to those the selector matches (all with
    neither). Returns what happened per object, warnings, and the reconcile's problems."""
    info = BY_KIND[kind]
    warnings: list[str] = []
    with stored(cluster) as lab:
        scope = namespace if info.namespaced else ""
        if names:
            objs = []
            for name in names:
                o = lab.store.get(kind, scope or "", name)
                if o is None:
                    raise NotFound(f'{info.qualified_plural} "{name}" not found')
                objs.append(o)
        else:
            objs = [
                o for o in lab.store.list(kind, scope if info.namespaced else None)
                if selector is None or selector.matches((o.manifest.get("metadata") or {}).get("labels") or {})
            ]  # fmt: skip
        outcomes, updated = [], []
        for o in objs:
            manifest = copy.deepcopy(o.manifest)
            current = dict(manifest["metadata"].get(field) or {})
            before = dict(current)
            for e in edits:
                if e.value is None:
                    if e.key not in current:
                        warnings.append(f'{field[:-1]} "{e.key}" not found.')
                    current.pop(e.key, None)
                elif e.key in current and current[e.key] != e.value and not overwrite:
                    raise InvalidInput(f"'{e.key}' already has a value ({current[e.key]}), and --overwrite is false")
                else:
                    current[e.key] = e.value
            outcomes.append(Outcome(kind, o.name, current != before))
            if current != before:
                manifest["metadata"][field] = current
                updated.append(object_from_dict(manifest))
        if updated:
            from pydantic import ValidationError

            try:
                registry.apply(lab, updated)
            except ValidationError as exc:
                raise InvalidInput(str(exc)) from None
        revision = lab.store.revision()
    return outcomes, warnings, settle(cluster, revision) if updated else ()
