"""Manifest sources read into documents, before any validation: what `apply -f`, `delete -f`,
`edit` and `cluster create --config` parse.

A source is a file, a directory (its *.yaml, *.yml and *.json files, sorted, not recursive) or
`-` for stdin. A *.json file is one JSON document, anything else multi-document YAML (duplicate
keys refused, timestamps kept as strings); a syntax error names the source, line and column.
A `kind: List` yields its items, each remembering its place. Validating a document into a
model is loader.py's work.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

import yaml

from netlab.errors import InvalidInput

STDIN = "-"
STDIN_NAME = "<stdin>"
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True)
class Document:
    source: str  # the file as the user named it, or "<stdin>"
    data: Any
    number: int  # 1-based position of the document in its source
    item: int | None = None  # position inside a `kind: List`

    @property
    def label(self) -> str:
        text = f"document {self.number}"
        return text if self.item is None else f"{text} items[{self.item}]"


@dataclass
class Collector:
    """Problems and warnings gathered across every source of one invocation."""

    problems: list[str]
    warnings: list[str]


def read_documents(
    sources: Sequence[str | os.PathLike[str]], stdin: TextIO | None, out: Collector
) -> Iterator[Document]:
    """Yield documents lazily, so read problems land in `out` in the order of the sources."""
    stdin_read = False
    for source in map(os.fspath, sources):
        if source == STDIN:
            if stdin_read:
                out.problems.append(f"{STDIN_NAME}: standard input given more than once")
                continue
            stdin_read = True
            yield from _parse_source(STDIN_NAME, (stdin or sys.stdin).read(), out)
            continue
        for path in _expand(source, out):
            try:
                with open(path, encoding="utf-8") as f:
                    text = f.read()
            except (OSError, UnicodeDecodeError) as exc:
                out.problems.append(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}")
                continue
            yield from _parse_source(path, text, out)


def _expand(source: str, out: Collector) -> list[str]:
    if os.path.isdir(source):
        found = sorted(
            os.path.join(source, name)
            for name in os.listdir(source)
            if name.endswith(MANIFEST_SUFFIXES) and os.path.isfile(os.path.join(source, name))
        )
        if not found:
            out.problems.append(f"{source}: directory has no .yaml, .yml or .json files")
        return found
    if not os.path.exists(source):
        out.problems.append(f"{source}: no such file or directory")
        return []
    return [source]


def _parse_source(source: str, text: str, out: Collector) -> list[Document]:
    try:
        parsed = parse_documents(source, text)
    except InvalidInput as exc:
        out.problems.extend(exc.problems)
        return []
    documents = []
    for number, data in enumerate(parsed, start=1):
        if data is None:  # an empty document between two `---`
            continue
        if isinstance(data, dict) and data.get("kind") == "List":
            items = data.get("items")
            if not isinstance(items, list):
                out.problems.append(
                    f"{source}: document {number}: items: Required value: a List needs a list"
                )
                continue
            documents += [Document(source, item, number, i) for i, item in enumerate(items)]
        else:
            documents.append(Document(source, data, number))
    return documents


def parse_documents(source: str, text: str) -> list[Any]:
    """The documents of one source: JSON for *.json, else (multi-document) YAML.

    Raises InvalidInput with one line naming the source, line and column of a syntax error.
    """
    if source.endswith(".json"):
        try:
            return [json.loads(text)]
        except json.JSONDecodeError as exc:
            raise InvalidInput(
                f"{source}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
            ) from None
    try:
        return list(yaml.load_all(text, Loader=_ManifestLoader))  # noqa: S506 - a SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "syntax error"
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise InvalidInput(f"{source}: invalid YAML{where}: {problem}") from None
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{source}: invalid YAML: {' '.join(str(exc).split())}") from None


class _ManifestLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """SafeLoader that refuses duplicate keys (as sigs.k8s.io/yaml does) and keeps timestamps
    as strings (the apiserver's `creationTimestamp` is a string, and must survive JSON)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[str] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                if key_node.value in seen:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping",
                        node.start_mark,
                        f'mapping key "{key_node.value}" already defined',
                        key_node.start_mark,
                    )
                seen.add(key_node.value)
        return super().construct_mapping(node, deep=deep)


_ManifestLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
