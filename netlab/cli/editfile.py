"""The file `netlab edit` hands to the editor, as kubectl's editor (k8s.io/kubectl
pkg/cmd/util/editor) writes and reads it. Pure, unit-tested.

- The YAML file starts with kubectl's comment header; after a refused save the header also
  lists why (`# services "web" was not valid:` / `# * spec.type: Unsupported value: …`) and
  the file is opened again with the user's text. JSON files get no header.
- Changes are judged on the content, comments aside: YAML parsed to data (cmdutil.StripComments),
  or, when it does not parse, the lines that are not comments (ManualStrip).
- The editor is $KUBE_EDITOR, else $EDITOR, else vi; a value with spaces is split into
  arguments, and one with quotes or backslashes is run by $SHELL (else /bin/bash) with `-c`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping

HEADER = (
    "# Please edit the object below. Lines beginning with a '#' will be ignored,\n"
    "# and an empty file will abort the edit. If an error occurs while saving this file will be\n"
    "# reopened with the relevant failures.\n"
    "#\n"
)


@dataclass(frozen=True)
class Reason:
    """Why the file is opened again: a head line and its causes."""

    head: str
    causes: tuple[str, ...] = field(default=())


def _hash_line_breaks(text: str) -> str:
    """hashOnLineBreak: a message of several lines stays a comment."""
    return "\n# ".join(text.split("\n"))


def header(reasons: tuple[Reason, ...] = ()) -> str:
    text = HEADER
    for r in reasons:
        text += f"# {_hash_line_breaks(r.head)}{':' if r.causes else ''}\n"
        text += "".join(f"# * {_hash_line_breaks(c)}\n" for c in r.causes)
        text += "#\n"
    return text


def render(document: Mapping[str, Any], fmt: str, reasons: tuple[Reason, ...] = ()) -> str:
    """The file for a document: kubectl's header and YAML, or bare JSON (indented by 4)."""
    if fmt == "json":
        return json.dumps(document, indent=4) + "\n"
    import yaml

    return header(reasons) + yaml.safe_dump(dict(document), sort_keys=True, default_flow_style=False)


def manual_strip(text: str) -> str:
    """The text without its comment lines (`#!` is kept, as kubectl keeps it)."""
    lines = text.split("\n")
    kept = [line for line in lines if not (line.strip().startswith("#") and not line.strip().startswith("#!"))]
    return "\n".join(kept)


def content(text: str) -> Any:
    """What a change is judged on: the parsed data, else the text without comments."""
    import yaml

    try:
        return ("data", yaml.safe_load(text))
    except yaml.YAMLError:
        return ("text", manual_strip(text))


def has_lines(text: str) -> bool:
    """A line that is neither blank nor a comment (else the edit is abandoned)."""
    return any(line.strip() and not line.strip().startswith("#") for line in text.splitlines())


def editor(env: Mapping[str, str]) -> tuple[list[str], bool]:
    """The editor's arguments and whether they go through the shell (defaultEnvEditor)."""
    chosen = env.get("KUBE_EDITOR") or env.get("EDITOR") or "vi"
    if " " not in chosen:
        return [chosen], False
    if not any(c in chosen for c in "\"'\\"):
        return chosen.split(" "), False
    return [env.get("SHELL") or "/bin/bash", "-c", chosen], True


def editor_argv(env: Mapping[str, str], path: str) -> list[str]:
    """The command that edits `path` (Editor.args: the shell gets the path quoted)."""
    args, shell = editor(env)
    if shell:
        return [*args[:-1], f"{args[-1]} {json.dumps(path)}"]
    return [*args, path]


def reopen(edited: str, fmt: str, reasons: tuple[Reason, ...]) -> str:
    """The file opened again after a refused save: the header with the reasons (YAML only, as
    kubectl), then the user's text without its old comments."""
    return (header(reasons) if fmt == "yaml" else "") + manual_strip(edited)
