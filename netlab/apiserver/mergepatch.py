"""JSON merge patch (RFC 7386), the patch `kubectl edit` sends for objects it has no
strategic-merge schema for, and the one netlab uses for every kind: a map of what changed,
`null` for what was removed, lists replaced whole. Pure."""

from __future__ import annotations

import copy
from typing import Any


def create(original: Any, edited: Any) -> Any:
    """The patch that turns `original` into `edited` (jsonpatch.CreateMergePatch); {} if equal."""
    if not isinstance(original, dict) or not isinstance(edited, dict):
        return copy.deepcopy(edited)
    patch: dict[str, Any] = {}
    for key in original:
        if key not in edited:
            patch[key] = None
    for key, value in edited.items():
        if key not in original:
            patch[key] = copy.deepcopy(value)
        elif original[key] != value:
            if isinstance(original[key], dict) and isinstance(value, dict):
                patch[key] = create(original[key], value)
            else:
                patch[key] = copy.deepcopy(value)
    return patch


def apply(target: Any, patch: Any) -> Any:
    """`target` with `patch` merged in (RFC 7386 MergePatch); neither argument is changed."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = apply(result.get(key), value)
    return result
