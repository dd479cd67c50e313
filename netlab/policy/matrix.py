"""Reachability tables, as upstream's netpol e2e tests print them (pure).

Rows are sources, columns destinations; a cell is "connected" or not. The table is printed
with ✓/✗ on a terminal and `.`/`X` otherwise (upstream's own symbols), and read back from a
file in either form, so a saved printout is a valid `--expect` file:

    -     x/a   x/b   x/c
    x/a   .     X     .
    x/b   .     .     .
    x/c   X     X     .
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from netlab.errors import InvalidInput

YES_SYMBOLS = frozenset({".", "✓", "1", "true", "yes"})
NO_SYMBOLS = frozenset({"X", "x", "✗", "0", "false", "no"})


@dataclass(frozen=True)
class Matrix:
    pods: tuple[str, ...]  # "ns/name", the order of rows and columns
    cells: Mapping[tuple[str, str], bool]  # (from, to) → connected

    def lines(self, yes: str = ".", no: str = "X") -> list[str]:
        width = max([len(p) for p in self.pods] + [1])
        head = " ".join(["-".ljust(width), *(p.ljust(width) for p in self.pods)]).rstrip()
        rows = [
            " ".join([src.ljust(width), *((yes if self.cells[(src, dst)] else no).ljust(width) for dst in self.pods)]).rstrip()
            for src in self.pods
        ]
        return [head, *rows]


def parse(text: str, source: str) -> Matrix:
    """Read a truth table; InvalidInput names the line of every problem."""
    lines = [(n, line.split()) for n, line in enumerate(text.splitlines(), start=1)]
    lines = [(n, words) for n, words in lines if words and not words[0].startswith("#")]
    if not lines:
        raise InvalidInput(f"{source}: empty truth table")
    pods = tuple(lines[0][1][1:])
    problems, cells = [], {}
    for n, words in lines[1:]:
        src, values = words[0], words[1:]
        if src not in pods:
            problems.append(f"{source}: line {n}: {src} is not one of the columns ({' '.join(pods)})")
        if len(values) != len(pods):
            problems.append(f"{source}: line {n}: {len(values)} cells for {len(pods)} columns")
            continue
        for dst, value in zip(pods, values):
            if value in YES_SYMBOLS or value in NO_SYMBOLS:
                cells[(src, dst)] = value in YES_SYMBOLS
            else:
                problems.append(f"{source}: line {n}: {value!r} is neither connected (. ✓) nor blocked (X ✗)")
    missing = [p for p in pods if not any(src == p for src, _ in cells)]
    if missing and not problems:
        problems.append(f"{source}: no row for {', '.join(missing)}")
    if problems:
        raise InvalidInput(problems)
    return Matrix(pods, cells)


def differences(expected: Matrix, observed: Matrix) -> list[str]:
    """One line per cell that differs; pods in only one of the tables are differences too."""
    lines = []
    for pod in expected.pods:
        if pod not in observed.pods:
            lines.append(f"{pod}: expected in the table, but it is not a running pod here")
    for src in expected.pods:
        for dst in expected.pods:
            if src in observed.pods and dst in observed.pods and expected.cells[(src, dst)] != observed.cells[(src, dst)]:
                want = "connected" if expected.cells[(src, dst)] else "blocked"
                got = "connected" if observed.cells[(src, dst)] else "blocked"
                lines.append(f"{src} -> {dst}: expected {want}, got {got}")
    return lines

