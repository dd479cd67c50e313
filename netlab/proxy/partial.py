"""Partial sync, as kube-proxy does it: re-send only the chains that changed (pure).

A full payload replaces whole tables; with thousands of Services that is thousands of rules
for one endpoint change. `plan_sync` compares the chains of the payload now wanted with the
chains last loaded and, when only netlab's own chains differ, returns a `--noflush` payload
that declares (and so flushes) just the changed chains, writes their rules and deletes the
chains that are gone. Built-in chains (INPUT, FORWARD, …) are never touched this way: if one of
them changed, the caller restores everything.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

BUILTIN = frozenset({"INPUT", "FORWARD", "OUTPUT", "PREROUTING", "POSTROUTING"})

Tables = dict[str, dict[str, list[str]]]  # table -> chain -> its "-A" rule lines, in order


def parse(payload: str) -> Tables:
    """The chains and rules of an iptables-restore payload (as netlab renders them)."""
    tables: Tables = {}
    table: dict[str, list[str]] | None = None
    for line in payload.splitlines():
        if line.startswith("*"):
            table = tables.setdefault(line[1:], {})
        elif line.startswith(":") and table is not None:
            table.setdefault(line[1:].split(None, 1)[0], [])
        elif line.startswith("-A ") and table is not None:
            # Split off the chain only: a rule line is long, and there are thousands.
            table.setdefault(line.split(None, 2)[1], []).append(line)
    return tables


def fingerprint(tables: Tables) -> dict[str, dict[str, str]]:
    """table -> chain -> hash of its rules: what the store remembers of the last load."""
    return {
        name: {chain: hashlib.sha256("\n".join(rules).encode()).hexdigest()[:16] for chain, rules in chains.items()}
        for name, chains in tables.items()
    }


@dataclass(frozen=True)
class SyncPlan:
    payload: str | None  # None: nothing to do
    full: bool  # True: `payload` replaces whole tables (no --noflush)
    chains_sent: int


def plan_sync(full_payload: str, previous: dict[str, dict[str, str]] | None) -> tuple[SyncPlan, dict[str, dict[str, str]]]:
    """How to get from what was loaded (`previous` fingerprint) to `full_payload`."""
    tables = parse(full_payload)
    now = fingerprint(tables)
    if previous is None or set(previous) != set(now):
        return SyncPlan(full_payload, True, sum(len(c) for c in tables.values())), now
    for table, chains in now.items():
        for chain in BUILTIN:
            if chains.get(chain) != previous[table].get(chain):
                return SyncPlan(full_payload, True, sum(len(c) for c in tables.values())), now
    lines: list[str] = []
    sent = 0
    for table, chains in tables.items():
        changed = [c for c in chains if now[table][c] != previous[table].get(c)]
        gone = [c for c in previous[table] if c not in chains and c not in BUILTIN]
        if not changed and not gone:
            continue
        lines.append(f"*{table}")
        # Declaring a chain in a --noflush restore empties it (or creates it).
        lines += [f":{c} - [0:0]" for c in changed + gone]
        for c in changed:
            lines += chains[c]
        # Chains that are gone are deleted last, after the rules that jumped to them changed.
        lines += [f"-X {c}" for c in gone]
        lines.append("COMMIT")
        sent += len(changed) + len(gone)
    if not lines:
        return SyncPlan(None, False, 0), now
    return SyncPlan("\n".join(lines) + "\n", False, sent), now
