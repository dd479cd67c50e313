"""Label selectors, like apimachinery's pkg/labels: `-l app=web,tier!=db,env in (a,b),!canary`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from netlab.api import names
from netlab.errors import InvalidInput

Operator = Literal["=", "!=", "in", "notin", "exists", "!"]

_KEY = r"[^\s,=!()]+"
_VALUE = r"[^\s,=!()]*"
_NOT_EXISTS = re.compile(rf"!\s*({_KEY})")
_EXISTS = re.compile(rf"({_KEY})")
_EQUALITY = re.compile(rf"({_KEY})\s*(==|=|!=)\s*({_VALUE})")
_SET = re.compile(rf"({_KEY})\s+(in|notin)\s*\(([^()]*)\)")


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: Operator
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.operator == "exists":
            return present
        if self.operator == "!":
            return not present
        if self.operator in ("=", "in"):
            return present and value in self.values
        # "!=" and "notin" also match objects without the label, as upstream.
        return not present or value not in self.values

    def __str__(self) -> str:
        if self.operator == "exists":
            return self.key
        if self.operator == "!":
            return f"!{self.key}"
        if self.operator in ("=", "!="):
            return f"{self.key}{self.operator}{self.values[0]}"
        return f"{self.key} {self.operator} ({','.join(self.values)})"


@dataclass(frozen=True)
class Selector:
    """All requirements must hold; the empty selector matches everything (labels.Everything)."""

    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(r.matches(labels) for r in self.requirements)

    @property
    def empty(self) -> bool:
        return not self.requirements

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


def selector_from_dict(labels: Mapping[str, str] | None) -> Selector:
    """The selector of a Service's `spec.selector` map (labels.SelectorFromSet)."""
    return Selector(tuple(Requirement(k, "=", (v,)) for k, v in sorted((labels or {}).items())))


def parse_label_selector(text: str) -> Selector:
    """Parse kubectl's `-l` syntax; raise InvalidInput naming the offending requirement."""
    requirements = []
    for part in _split_top_level(text):
        if not part:
            if text.strip():
                raise _bad(text, "empty requirement")
            continue
        requirement = _parse_requirement(part)
        if requirement is None:
            raise _bad(text, f'cannot parse "{part}"')
        problems = [f"key {e}" for e in names.qualified_name_errors(requirement.key)]
        for value in requirement.values:
            problems += [f'value "{value}": {e}' for e in names.label_value_errors(value)]
        if problems:
            raise _bad(text, "; ".join(problems))
        requirements.append(requirement)
    return Selector(tuple(requirements))


def _parse_requirement(part: str) -> Requirement | None:
    if match := _NOT_EXISTS.fullmatch(part):
        return Requirement(match[1], "!")
    if match := _SET.fullmatch(part):
        values = tuple(v.strip() for v in match[3].split(","))
        if match[3].strip() == "":
            return None
        return Requirement(match[1], match[2], values)  # type: ignore[arg-type]
    if match := _EQUALITY.fullmatch(part):
        operator = "!=" if match[2] == "!=" else "="
        return Requirement(match[1], operator, (match[3],))
    if match := _EXISTS.fullmatch(part):
        return Requirement(match[1], "exists")
    return None


def _split_top_level(text: str) -> list[str]:
    """Split on commas outside parentheses: `a in (x,y),b` is two requirements."""
    parts, depth, current = [], 0, ""
    for char in text:
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
            continue
        depth += {"(": 1, ")": -1}.get(char, 0)
        current += char
    parts.append(current.strip())
    return parts


def _bad(text: str, reason: str) -> InvalidInput:
    return InvalidInput(f'invalid label selector "{text}": {reason}')


def selects(selector: Mapping[str, str] | None, labels: Mapping[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())
