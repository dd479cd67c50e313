"""Field paths and field errors, like apimachinery's pkg/util/validation/field.

Validators in the models raise `field_errors(...)`; `problems_from_validation_error` turns a
pydantic ValidationError into one-line problems (`spec.ports[0].port: Invalid value: 0: must
be between 1 and 65535, inclusive`) so pydantic's multi-line format never reaches a user.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from pydantic_core import PydanticCustomError

Loc = tuple[str | int, ...]

# The pydantic error type netlab's own validators raise; its context carries (loc, message)
# pairs relative to the model or field that raised it.
NETLAB_ERROR_TYPE = "netlab_field"


@dataclass(frozen=True)
class FieldProblem:
    path: str  # "spec.containers[0].ports[1].name"; "" for the object as a whole
    message: str  # "Duplicate value: \"http\""

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


def format_path(loc: Iterable[str | int]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def show_value(value: Any) -> str:
    """A value as Kubernetes quotes it in messages: strings in double quotes, numbers bare."""
    try:
        text = json.dumps(value, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


# Kubernetes' field.ErrorType wordings.
def invalid_value(value: Any, detail: str) -> str:
    return f"Invalid value: {show_value(value)}: {detail}"


def required_value(detail: str = "") -> str:
    return f"Required value: {detail}" if detail else "Required value"


def unsupported_value(value: Any, supported: Sequence[str], detail: str = "") -> str:
    allowed = ", ".join(f'"{s}"' for s in supported)
    middle = f"{detail}; " if detail else ""
    return f"Unsupported value: {show_value(value)}: {middle}supported values: {allowed}"


def duplicate_value(value: Any) -> str:
    return f"Duplicate value: {show_value(value)}"


def forbidden(detail: str) -> str:
    return f"Forbidden: {detail}"


def field_errors(problems: Sequence[tuple[Loc, str]]) -> PydanticCustomError:
    """An error for a pydantic validator to raise, carrying every (relative loc, message)."""
    text = "; ".join(str(FieldProblem(format_path(loc), msg)) for loc, msg in problems)
    context = {"text": text, "problems": list(problems)}
    return PydanticCustomError(NETLAB_ERROR_TYPE, "{text}", context)


def field_error(message: str) -> PydanticCustomError:
    return field_errors([((), message)])


class ProblemList:
    """Collects a model's cross-field problems so one validator can report all of them."""

    def __init__(self) -> None:
        self.items: list[tuple[Loc, str]] = []

    def add(self, loc: Loc, message: str) -> None:
        self.items.append((loc, message))

    def raise_if_any(self) -> None:
        if self.items:
            raise field_errors(self.items)


_TYPE_WORDS = {
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be an integer",
    "string_type": "must be a string",
    "bool_type": "must be a boolean (true or false)",
    "bool_parsing": "must be a boolean (true or false)",
    "list_type": "must be a list",
    "tuple_type": "must be a list",
    "dict_type": "must be a map",
    "model_type": "must be a map",
    "model_attributes_type": "must be a map",
    "dataclass_type": "must be a map",
}


def problems_from_validation_error(exc: ValidationError, prefix: Loc = ()) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    for err in exc.errors(include_url=False):
        loc = prefix + tuple(err["loc"])
        if err["type"] == NETLAB_ERROR_TYPE:
            for rel, message in err["ctx"]["problems"]:
                problems.append(FieldProblem(format_path(loc + tuple(rel)), message))
            continue
        if loc and loc[-1] == "[key]":
            # pydantic locates a bad map key as (..., key, "[key]")
            problems.append(
                FieldProblem(format_path(loc[:-2]), invalid_value(loc[-2], "keys must be strings"))
            )
            continue
        problems.append(FieldProblem(format_path(loc), _describe(err)))
    return problems


def _describe(err: Any) -> str:
    kind = err["type"]
    if kind == "missing":
        return required_value()
    if kind in _TYPE_WORDS:
        return invalid_value(err["input"], _TYPE_WORDS[kind])
    if kind == "extra_forbidden":
        return "Unsupported field: not a setting netlab knows (check the spelling)"
    if kind == "literal_error":
        supported = re.findall(r"'([^']*)'", err["ctx"]["expected"])
        return unsupported_value(err["input"], supported)
    return invalid_value(err["input"], err["msg"])
