"""kube-proxy's sync in nftables mode, for one node: the NetworkPolicy chains into iptables'
filter table (`sync.restore_rules`), then the `ip kube-proxy` table in one `nft -f`
transaction — only what changed (`nftpartial.py`) when the node still holds what netlab loaded
last, the whole table otherwise.

"Still holds" is proved by the namespace's nf_tables generation: every committed transaction
moves it on, so a number equal to the one recorded after netlab's own last write means nobody
else changed anything. A missing table, a table someone altered (`nft delete rule …`, `nft
flush chain …`, even a change to the iptables rules), a new namespace (its inode), or a
refused partial transaction all end in a full load, which replaces the table whole.
"""

from __future__ import annotations

import time

from netlab.apiserver.state import Lab
from netlab.errors import NetlabError
from netlab.kernel import nft, ns
from netlab.policy.model import FilterRules
from netlab.proxy import nftnames
from netlab.proxy.hostports import NatRules
from netlab.proxy.nftables import full_script, render_nft
from netlab.proxy.nftpartial import NftPlan, plan_sync
from netlab.proxy.render import render_policy_filter
from netlab.proxy.types import ProxyConfig, ServicePortInfo


def meta_key(node: str) -> str:
    return f"nft:{node}"


def sync_node(
    lab: Lab,
    node: str,
    path: str,
    ports: list[ServicePortInfo],
    config: ProxyConfig,
    policy: FilterRules,
    problems: list[str],
    hostports: NatRules = NatRules(),
) -> int:
    """1 if this node's rules changed, 0 if they were already right (or could not be loaded)."""
    from netlab.proxy.sync import restore_rules

    key = meta_key(node)
    loaded = lab.store.get_meta(key) or {}
    inode = ns.ns_inode(path)
    intact = loaded.get("inode") == inode and loaded.get("generation") == nft.generation(path)
    policy_chains = max(len(policy.chains) - 1, 0)
    changed = restore_rules(lab, node, path, render_policy_filter(policy, hostports), f"{policy_chains} pod policy chains", problems)

    ruleset = render_nft(ports, config)
    plan, now = plan_sync(ruleset, loaded.get("fingerprint") if intact else None)
    started = time.monotonic()
    if plan.script is not None:
        try:
            nft.run(path, plan.script)
        except NetlabError as exc:
            if plan.full:
                problems.append(f"node/{node}: {exc.message}: {exc.detail}")
                return changed
            try:
                nft.run(path, full_script(ruleset))  # the partial transaction was refused: start over
            except NetlabError as again:
                problems.append(f"node/{node}: {again.message}: {again.detail}")
                return changed
            plan = NftPlan(None, True, len(ruleset.chains), sum(len(m) for m in ruleset.elements.values()))
    if plan.script is None and not plan.full and intact and not changed:
        return 0
    lab.store.set_meta(key, {"inode": inode, "generation": nft.generation(path), "fingerprint": now})
    if plan.script is not None or plan.full:
        kind = "whole table" if plan.full else "partial"
        lab.store.add_event(
            "Node", "", node, "RulesSynced",
            f"nft -f ({kind}, table {nftnames.FAMILY} {nftnames.TABLE}): {plan.chains_sent} chains, "
            f"{plan.elements_sent} set/map elements sent ({len(ports)} service ports) "
            f"in {(time.monotonic() - started) * 1000:.0f} ms",
        )  # fmt: skip
        return 1
    return changed
