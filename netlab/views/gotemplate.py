"""`-o go-template=…`: the subset of Go's text/template the Kubernetes docs use, translated to
kubectl's JSONPath dialect (pure).

`{{range .items}}…{{end}}`, field paths (`{{.status.podIP}}`, `{{.}}`) and string literals
(`{{"\\n"}}`) mean the same in both: inside a range `.` is the element, as `@` is in JSONPath.
Anything else (`if`, `with`, `printf`, `index`, pipes, variables) is refused by name rather than
printed wrong.
"""

from __future__ import annotations

import json
import re

from netlab.errors import InvalidInput

_ACTION = re.compile(r"\{\{(-?)\s*(.*?)\s*(-?)\}\}", re.S)
_PATH = re.compile(r"\.(?:[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)?")


def to_jsonpath(template: str) -> str:
    out: list[str] = []
    pos = 0
    for m in _ACTION.finditer(template):
        text = template[pos : m.start()]
        if m.group(1):
            text = text.rstrip()
        out.append(_literal(text))
        out.append(_action(m.group(2), template))
        pos = m.end()
        if m.group(3):
            rest = template[pos:]
            pos += len(rest) - len(rest.lstrip())
    out.append(_literal(template[pos:]))
    return "".join(out)


def _literal(text: str) -> str:
    if "{" in text or "}" in text:
        return "{" + json.dumps(text) + "}"  # braces would open a JSONPath action
    return text


def _action(action: str, template: str) -> str:
    if action == "end":
        return "{end}"
    if action.startswith("range "):
        path = action[len("range ") :].strip()
        if _PATH.fullmatch(path):
            return "{range " + (path if path != "." else "@") + "[*]}"
    elif _PATH.fullmatch(action):
        return "{" + (action if action != "." else "@") + "}"
    elif action.startswith('"') and action.endswith('"'):
        try:
            return "{" + json.dumps(json.loads(action)) + "}"
        except ValueError:
            pass
    raise InvalidInput(
        f"error parsing template {template}: netlab's go-template speaks range, end, field paths and "
        f"string literals only, not {{{{{action}}}}} (use -o jsonpath=…)"
    )
