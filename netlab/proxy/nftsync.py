"""kube-proxy's sync in nftables mode, for one node: the NetworkPolicy chains into iptables'
filter table (`sync.restore_rules`), then the `ip kube-proxy` table in one `nft -f`
transaction — only what changed (`nftpartial.py`) when the node still holds what netlab loaded
last, the whole table otherwise. A dual-stack node does this per family: ip6tables' filter
table and the `ip6 kube-proxy` table for IPv6, as upstream's second proxier would.

"Still holds" is proved by the namespace's nf_tables generation: every committed transaction
moves it on, so a number equal to the one recorded after netlab's own last write means nobody
else changed anything. A missing table, a table someone altered (`nft delete rule …`, `nft
flush chain …`, even a change to the iptables rules), a new namespace (its inode), or a
refused partial transaction all end in a full load, which replaces the table whole. The
generation is one number per namespace, moved by either family's writes: so both tables are
checked before anything is written and both records get the number left after the last write.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from netlab.apiserver.state import Lab
from netlab.errors import NetlabError
from netlab.kernel import nft, ns
from netlab.policy.model import FilterRules
from netlab.proxy.hostports import NatRules
from netlab.proxy.nftables import NftRuleset, full_script, render_nft, table_prefix
from netlab.proxy.nftpartial import NftPlan, plan_sync
from netlab.proxy.render import render_policy_filter
from netlab.proxy.types import ProxyConfig, ServicePortInfo


def meta_key(node: str, family: int = 4) -> str:
    return f"nft:{node}" if family == 4 else f"nft{family}:{node}"


@dataclass(frozen=True)
class FamilyRules:
    """What one family's proxier and policy agent want on a node."""

    ports: list[ServicePortInfo]
    config: ProxyConfig  # its `family` says which tables
    policy: FilterRules
    hostports: NatRules = NatRules()  # the portmap plugin's chains (IPv4 pods: the iptables nat table)


def sync_node(lab: Lab, node: str, path: str, families: list[FamilyRules], problems: list[str]) -> int:
    """1 if this node's rules changed, 0 if they were already right (or could not be loaded)."""
    from netlab.proxy.sync import restore_rules

    inode, generation = ns.ns_inode(path), nft.generation(path)
    loaded = {f.config.family: lab.store.get_meta(meta_key(node, f.config.family)) or {} for f in families}
    intact = {
        family: record.get("inode") == inode and record.get("generation") == generation for family, record in loaded.items()
    }
    changed = 0
    for f in families:
        policy_chains = max(len(f.policy.chains) - 1, 0)
        changed |= restore_rules(
            lab, node, path, render_policy_filter(f.policy, f.hostports), f"{policy_chains} pod policy chains", problems, f.config.family
        )
    done: list[tuple[int, dict, NftPlan | None, float]] = []
    for f in families:
        family = f.config.family
        started = time.monotonic()
        ruleset = render_nft(f.ports, f.config)
        plan, now = plan_sync(ruleset, loaded[family].get("fingerprint") if intact[family] else None)
        plan = _apply(node, path, ruleset, plan, problems)
        done.append((family, now, plan, (time.monotonic() - started) * 1000))
    applied = [d for d in done if d[2] is not None]
    idle = all(plan is not None and plan.script is None and not plan.full for _, _, plan, _ in done)
    if idle and all(intact.values()) and not changed:
        return 0
    generation = nft.generation(path)
    for family, now, plan, ms in applied:
        lab.store.set_meta(meta_key(node, family), {"inode": inode, "generation": generation, "fingerprint": now})
        if plan.script is not None or plan.full:
            kind = "whole table" if plan.full else "partial"
            ports = next(len(f.ports) for f in families if f.config.family == family)
            lab.store.add_event(
                "Node", "", node, "RulesSynced",
                f"nft -f ({kind}, table {table_prefix(family)}): {plan.chains_sent} chains, "
                f"{plan.elements_sent} set/map elements sent ({ports} service ports) in {ms:.0f} ms",
            )  # fmt: skip
            changed = 1
    return changed


def _apply(node: str, path: str, ruleset: NftRuleset, plan: NftPlan, problems: list[str]) -> NftPlan | None:
    """Run the plan; a refused partial transaction is retried as a full load. None: not loaded."""
    if plan.script is None:
        return plan
    try:
        nft.run(path, plan.script)
        return plan
    except NetlabError as exc:
        if plan.full:
            problems.append(f"node/{node}: {exc.message}: {exc.detail}")
            return None
    try:
        nft.run(path, full_script(ruleset))  # the partial transaction was refused: start over
    except NetlabError as again:
        problems.append(f"node/{node}: {again.message}: {again.detail}")
        return None
    return NftPlan(None, True, len(ruleset.chains), sum(len(m) for m in ruleset.elements.values()))
