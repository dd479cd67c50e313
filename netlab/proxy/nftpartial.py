"""Partial sync in nftables mode, as upstream's proxier does it: one `nft -f` transaction with
only what changed (pure).

Upstream keeps, between syncs, the elements of its sets and maps (`nftElementStorage`) and
rewrites only the chains of the Services whose Service or endpoints changed
(`skipServiceUpdate`). netlab remembers the same in a fingerprint of the last load (chain →
hash of its rules, set/map → key → element) and sends the difference:

    add set …             affinity sets that are new (before the rules that use them)
    add chain … / flush chain …   chains that are new or changed
    delete element …      elements gone or changed (before the chains they point to go)
    add rule …            the rules of those chains
    add element …         elements new or changed
    flush chain / delete chain …  chains gone, once nothing points to them
    delete set …          affinity sets gone

The kernel applies the whole file or none of it. On kernels before 6.2, a chain that a map
element pointed to could not be deleted in the same transaction (upstream defers it by a
second); netlab requires a newer kernel for that and falls back to a full load otherwise.
A change to the skeleton (table, base chains, fixed sets and maps) or to an affinity set's
timeout means a full load.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from netlab.proxy.nftables import Element, NftRuleset, element_line, full_script, rule_line, rules_hash, set_line

Fingerprint = dict[str, Any]


def fingerprint(ruleset: NftRuleset) -> Fingerprint:
    """What the store remembers of a load: enough to compute the next difference."""
    return {
        "skeleton": ruleset.skeleton_hash,
        "chains": dict(ruleset.chain_hashes) if len(ruleset.chain_hashes) == len(ruleset.chains)
        else {c: rules_hash(rules) for c, rules in ruleset.chains.items()},
        "sets": dict(ruleset.sets),
        "elements": {
            container: {k: _element_value(e) for k, e in members.items()}
            for container, members in ruleset.elements.items()
        },
    }


@dataclass(frozen=True)
class NftPlan:
    script: str | None  # None: nothing to do
    full: bool  # True: the script replaces the whole table
    chains_sent: int  # chains written or deleted
    elements_sent: int  # elements added or deleted


def plan_sync(ruleset: NftRuleset, previous: Fingerprint | None) -> tuple[NftPlan, Fingerprint]:
    """How to get from the last load (`previous`, None when unknown) to `ruleset`."""
    now = fingerprint(ruleset)
    if previous is None or previous.get("skeleton") != now["skeleton"] or _sets_changed(previous, now):
        return _full(ruleset), now
    old_chains = previous["chains"]
    changed = [c for c, h in now["chains"].items() if old_chains.get(c) != h]
    gone = [c for c in old_chains if c not in now["chains"]]
    new_sets = [s for s in now["sets"] if s not in previous["sets"]]
    gone_sets = [s for s in previous["sets"] if s not in now["sets"]]
    removed: list[str] = []
    added: list[str] = []
    for container, members in ruleset.elements.items():
        old = previous["elements"].get(container, {})
        new = now["elements"][container]
        for key, value in old.items():
            if new.get(key) != value:
                removed.append(element_line("delete", container, Element(key), ruleset.prefix))
        for key, value in new.items():
            if old.get(key) != value:
                added.append(element_line("add", container, members[key], ruleset.prefix))
    if not (changed or gone or new_sets or gone_sets or removed or added):
        return NftPlan(None, False, 0, 0), now
    prefix = ruleset.prefix
    lines = [set_line(s, ruleset.sets[s], prefix) for s in new_sets]
    for chain in changed:
        lines += [f"add chain {prefix} {chain}", f"flush chain {prefix} {chain}"]
    lines += removed
    for chain in changed:
        lines += [rule_line(chain, r, prefix) for r in ruleset.chains[chain]]
    lines += added
    # A gone chain may still be jumped to by another gone chain: flush them all, then delete.
    lines += [f"flush chain {prefix} {chain}" for chain in gone]
    lines += [f"delete chain {prefix} {chain}" for chain in gone]
    lines += [f"delete set {prefix} {s}" for s in gone_sets]
    plan = NftPlan("\n".join(lines) + "\n", False, len(changed) + len(gone), len(removed) + len(added))
    return plan, now


def _full(ruleset: NftRuleset) -> NftPlan:
    elements = sum(len(m) for m in ruleset.elements.values())
    return NftPlan(full_script(ruleset), True, len(ruleset.chains), elements)


def _sets_changed(previous: Fingerprint, now: Fingerprint) -> bool:
    # An affinity set whose timeout changed cannot be redeclared in place.
    return any(previous["sets"].get(name, decl) != decl for name, decl in now["sets"].items())


def _element_value(e: Element) -> str:
    return f"{e.value}|{e.comment}"
