"""`netlab wait --for=…`: kubectl's conditions over the documents `get` prints (pure).

`condition=NAME[=VALUE]` (VALUE defaults to true, compared without case), `delete`, and
`jsonpath={PATH}[=VALUE]` (without a value: the field exists). Durations are Go's
(`30s`, `1m30s`, `500ms`), as kubectl's --timeout takes them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from netlab.errors import InvalidInput
from netlab.views import jsonpath


@dataclass(frozen=True)
class Condition:
    kind: str  # condition | delete | jsonpath
    name: str = ""  # the condition type, or the JSONPath template
    value: str | None = None  # the wanted value (None for jsonpath: the field exists)


def parse_for(text: str) -> Condition:
    if text.lower() == "delete":
        return Condition("delete")
    if text.lower().startswith("condition="):
        name, _, value = text[len("condition=") :].partition("=")
        if not name:
            raise InvalidInput("--for=condition= needs a condition name, e.g. --for=condition=Ready")
        return Condition("condition", name, value or "true")
    if text.lower().startswith("jsonpath="):
        rest = text[len("jsonpath=") :]
        template, value = _split_jsonpath(rest)
        try:
            jsonpath.parse(jsonpath.relaxed(template))
        except jsonpath.JSONPathError as exc:
            raise InvalidInput(f"unrecognized JSONPath expression {template}: {exc}") from None
        return Condition("jsonpath", jsonpath.relaxed(template), value)
    raise InvalidInput(f"unrecognized condition: {text!r} (use delete, condition=NAME[=VALUE] or jsonpath={{PATH}}[=VALUE])")


def _split_jsonpath(rest: str) -> tuple[str, str | None]:
    if rest.startswith("{"):
        end = rest.find("}")
        if end == -1:
            raise InvalidInput(f"unrecognized JSONPath expression {rest}")
        template, tail = rest[: end + 1], rest[end + 1 :]
        if not tail:
            return template, None
        if not tail.startswith("="):
            raise InvalidInput(f"jsonpath wait format must be --for=jsonpath='{{JSONPath expression}}'=VALUE, got {rest}")
        return template, tail[1:]
    template, sep, value = rest.partition("=")
    return template, value if sep else None


def met(condition: Condition, doc: dict[str, Any] | None) -> bool:
    """Whether `doc` (None: the object is gone) satisfies the condition."""
    if condition.kind == "delete":
        return doc is None
    if doc is None:
        return False
    if condition.kind == "condition":
        for c in (doc.get("status") or {}).get("conditions") or []:
            if c.get("type", "").lower() == condition.name.lower():
                return str(c.get("status", "")).lower() == (condition.value or "true").lower()
        return False
    values = [v for node in jsonpath.parse(condition.name) if isinstance(node, jsonpath.Path) for v in jsonpath.find(node, doc)]
    if condition.value is None:
        return bool(values)
    return bool(values) and jsonpath.text_of(values[0]) == condition.value


_UNIT = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


def parse_duration(text: str) -> float:
    """Go's time.ParseDuration: `30s`, `1m30s`, `1.5h`, `0`; negative means a week, as kubectl."""
    text = text.strip()
    if text in ("0", "-0", "+0"):
        return 0.0
    sign = -1.0 if text.startswith("-") else 1.0
    body = text.lstrip("+-")
    pos, total = 0, 0.0
    while pos < len(body):
        match = _PART.match(body, pos)
        if not match:
            detail = "missing unit in duration" if body[pos:].replace(".", "").isdigit() else "invalid duration"
            raise InvalidInput(f'time: {detail} "{text}"')
        total += float(match.group(1)) * _UNIT[match.group(2)]
        pos = match.end()
    if not body:
        raise InvalidInput(f'time: invalid duration "{text}"')
    return sign * total if sign > 0 else 7 * 24 * 3600.0
