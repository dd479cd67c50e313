"""kubectl's JSONPath templates (k8s.io/client-go/util/jsonpath), pure.

A template is text with `{...}` actions: a path (`{.items[*].metadata.name}`), a quoted
literal (`{"\\n"}`), or `{range PATH}...{end}`. Paths know fields (`.a`, `['a.b']`), `*`,
indexes and slices (`[0]`, `[-1]`, `[1:3]`, `[0,2]`), recursive descent (`..name`), unions of
keys (`['a','b']`) and filters (`[?(@.type=="Ready")]`, `[?(@.ready)]`). As with `kubectl get
-o jsonpath`, a missing key gives nothing (not an error), an action's several results are joined
by spaces, and maps and lists print as compact JSON. jsonpath-ng speaks Goessner's dialect,
not kubectl's templates, hence this small copy.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any


class JSONPathError(ValueError):
    pass


# --- parsing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Path:
    steps: tuple[tuple, ...]  # ("root",), ("field", name), ("recursive", step), ...


@dataclass(frozen=True)
class Range:
    path: Path
    body: tuple


def parse(template: str) -> tuple:
    """The template's nodes; raises JSONPathError with kubectl's kind of message."""
    nodes, rest = _parse_nodes(template, 0, top=True)
    return nodes


def _parse_nodes(template: str, pos: int, top: bool) -> tuple[tuple, int]:
    nodes: list = []
    while pos < len(template):
        start = template.find("{", pos)
        if start == -1:
            nodes.append(Text(template[pos:]))
            return tuple(nodes), len(template)
        if start > pos:
            nodes.append(Text(template[pos:start]))
        end = _closing_brace(template, start)
        action = template[start + 1 : end].strip()
        pos = end + 1
        if action == "end":
            if top:
                raise JSONPathError("not in range, nothing to end")
            return tuple(nodes), pos
        if action.startswith("range ") or action == "range":
            body, pos = _parse_nodes(template, pos, top=False)
            nodes.append(Range(parse_path(action[5:].strip()), body))
            continue
        if action[:1] in ("'", '"'):
            nodes.append(Text(_unquote(action)))
            continue
        nodes.append(parse_path(action))
    if not top:
        raise JSONPathError("unclosed range: {range} without {end}")
    return tuple(nodes), pos


def _closing_brace(template: str, start: int) -> int:
    quote = None
    i = start + 1
    while i < len(template):
        c = template[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == quote:
                quote = None
        elif c in ("'", '"'):
            quote = c
        elif c == "}":
            return i
        i += 1
    raise JSONPathError(f"unclosed action: {template[start:]!r}")


def _unquote(text: str) -> str:
    if len(text) < 2 or text[-1] != text[0]:
        raise JSONPathError(f"unterminated string: {text}")
    body = text[1:-1]
    escapes = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'"}
    out, i = [], 0
    while i < len(body):
        if body[i] == "\\" and i + 1 < len(body):
            out.append(escapes.get(body[i + 1], "\\" + body[i + 1]))
            i += 2
        else:
            out.append(body[i])
            i += 1
    return "".join(out)


_NAME = re.compile(r"(?:\\.|[^.\[\]\s()])+")


def parse_path(text: str) -> Path:
    steps: list[tuple] = []
    pos = 0
    if text.startswith("$"):
        steps.append(("root",))
        pos = 1
    elif text.startswith("@"):
        pos = 1
    elif text and text[0] not in ".[":
        raise JSONPathError(f"unrecognized identifier {text}")
    while pos < len(text):
        if text.startswith("..", pos):
            pos += 2
            step, pos = _one_step(text, pos)
            steps.append(("recursive", step))
        elif text[pos] == ".":
            pos += 1
            if pos == len(text):
                break  # "{.}": the current object
            step, pos = _one_step(text, pos)
            steps.append(step)
        elif text[pos] == "[":
            step, pos = _bracket(text, pos)
            steps.append(step)
        else:
            raise JSONPathError(f"unrecognized character in action: {text[pos:]!r}")
    return Path(tuple(steps))


def _one_step(text: str, pos: int) -> tuple[tuple, int]:
    if pos < len(text) and text[pos] == "*":
        return ("wildcard",), pos + 1
    if pos < len(text) and text[pos] == "[":
        return _bracket(text, pos)
    match = _NAME.match(text, pos)
    if not match:
        raise JSONPathError(f"invalid field name at {text[pos:]!r}")
    return ("field", match.group().replace("\\.", ".")), match.end()


def _bracket(text: str, pos: int) -> tuple[tuple, int]:
    depth, i, quote = 0, pos, None
    while i < len(text):
        c = text[i]
        if quote:
            if c == quote:
                quote = None
        elif c in ("'", '"'):
            quote = c
        elif c == "[":
            depth += 1
        elif c == "]":
            depth -= 1
            if depth == 0:
                break
        i += 1
    else:
        raise JSONPathError(f"unterminated array: {text[pos:]}")
    inner = text[pos + 1 : i].strip()
    return _bracket_step(inner), i + 1


def _bracket_step(inner: str) -> tuple:
    if inner == "*":
        return ("wildcard",)
    if inner.startswith("?(") and inner.endswith(")"):
        return ("filter", _filter(inner[2:-1].strip()))
    parts = _split_commas(inner)
    if all(p[:1] in ("'", '"') for p in parts):
        return ("fields", tuple(_unquote(p) for p in parts))
    if len(parts) == 1 and ":" in parts[0]:
        bounds = [b.strip() for b in parts[0].split(":")]
        if len(bounds) > 3:
            raise JSONPathError(f"invalid array index {inner}")
        try:
            nums = tuple(int(b) if b else None for b in bounds) + (None,) * (3 - len(bounds))
        except ValueError:
            raise JSONPathError(f"invalid array index {inner}") from None
        return ("slice", nums)
    try:
        return ("indexes", tuple(int(p) for p in parts))
    except ValueError:
        raise JSONPathError(f"invalid array index {inner}") from None


def _split_commas(inner: str) -> list[str]:
    parts, current, quote = [], "", None
    for c in inner:
        if quote:
            current += c
            if c == quote:
                quote = None
        elif c in ("'", '"'):
            quote = c
            current += c
        elif c == ",":
            parts.append(current.strip())
            current = ""
        else:
            current += c
    parts.append(current.strip())
    return parts


_FILTER = re.compile(r"^(?P<left>[@$][^=!<>~\s]*)\s*(?:(?P<op>==|!=|<=|>=|<|>|=~)\s*(?P<right>.+))?$")


def _filter(text: str) -> tuple:
    match = _FILTER.match(text)
    if not match:
        raise JSONPathError(f"unrecognized filter: {text}")
    right = match.group("right")
    return (parse_path(match.group("left")), match.group("op"), _operand(right.strip()) if right else None)


def _operand(text: str) -> Any:
    if text[:1] in ("'", '"'):
        return _unquote(text)
    if text[:1] in ("@", "$"):
        return parse_path(text)
    if text in ("true", "false"):
        return text == "true"
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            raise JSONPathError(f"unrecognized filter operand: {text}") from None


# --- evaluation -----------------------------------------------------------------------------


def find(path: Path, data: Any, root: Any = None) -> list[Any]:
    """Every value the path reaches from `data` (missing keys reach nothing)."""
    root = data if root is None else root
    values = [data]
    for step in path.steps:
        values = [v for value in values for v in _apply(step, value, root)]
    return values


def _apply(step: tuple, value: Any, root: Any) -> list[Any]:
    kind = step[0]
    if kind == "root":
        return [root]
    if kind == "field":
        return [value[step[1]]] if isinstance(value, dict) and step[1] in value else []
    if kind == "fields":
        return [value[k] for k in step[1] if isinstance(value, dict) and k in value]
    if kind == "wildcard":
        if isinstance(value, dict):
            return list(value.values())
        return list(value) if isinstance(value, list) else []
    if kind == "indexes":
        if not isinstance(value, list):
            return []
        return [value[i] for i in step[1] if -len(value) <= i < len(value)]
    if kind == "slice":
        if not isinstance(value, list):
            return []
        start, stop, stride = step[1]
        return value[slice(start, stop, stride)]
    if kind == "filter":
        items = value if isinstance(value, list) else list(value.values()) if isinstance(value, dict) else []
        return [item for item in items if _matches(step[1], item, root)]
    if kind == "recursive":
        return [v for node in _descend(value) for v in _apply(step[1], node, root)]
    raise JSONPathError(f"unknown step {kind}")


def _descend(value: Any) -> list[Any]:
    nodes = [value]
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    for child in children:
        nodes += _descend(child)
    return nodes


def _matches(condition: tuple, item: Any, root: Any) -> bool:
    left_path, op, right = condition
    lefts = find(left_path, item, root)
    if op is None:
        return bool(lefts)
    rights = find(right, item, root) if isinstance(right, Path) else [right]
    if not lefts or not rights:
        return False
    left, other = lefts[0], rights[0]
    try:
        if op == "==":
            return left == other
        if op == "!=":
            return left != other
        if op == "=~":
            return re.search(str(other), str(left)) is not None
        if isinstance(left, str) != isinstance(other, str):
            return False
        return {"<": left < other, ">": left > other, "<=": left <= other, ">=": left >= other}[op]
    except TypeError:
        return False


# --- printing ---------------------------------------------------------------------------------


def text_of(value: Any) -> str:
    """How kubectl prints one result: strings raw, maps and lists as compact JSON."""
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "<nil>"
    return str(value)


def execute(template: str | tuple, data: Any) -> str:
    """The template applied to `data`, as `kubectl get -o jsonpath=TEMPLATE` prints it."""
    nodes = parse(template) if isinstance(template, str) else template
    return _render(nodes, data, data)


def _render(nodes: tuple, data: Any, root: Any) -> str:
    out: list[str] = []
    for node in nodes:
        if isinstance(node, Text):
            out.append(node.text)
        elif isinstance(node, Range):
            for item in find(node.path, data, root):
                out.append(_render(node.body, item, root))
        else:
            out.append(" ".join(text_of(v) for v in find(node, data, root)))
    return "".join(out)


def relaxed(expression: str) -> str:
    """kubectl's RelaxedJSONPathExpression: `.a.b`, `a.b` and `{.a.b}` all mean `{.a.b}`."""
    expression = expression.strip()
    if expression.startswith("{") and expression.endswith("}"):
        inner = expression[1:-1].strip()
    else:
        inner = expression
    if inner and inner[0] not in ".[$@":
        inner = "." + inner
    return "{" + inner + "}"
