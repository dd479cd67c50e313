"""Walk one packet through a node's live `ip kube-proxy` table, as nf_tables would (pure).

The input is what the kernel holds (`nft -j list table ip kube-proxy` for the structure, `nft
-a list table …` for each rule's text by its handle), not what netlab meant to write. At a
netfilter hook the base chains run in priority order (filter-prerouting at -110 before
nat-prerouting at -100, …); each gives one `Walk`, shaped like the iptables walker's, so the
trace shows both modes the same way: the `services` chain, the `service-ips` verdict map
lookup, the `service-…` chain, `numgen random mod N` picking an `endpoint-…` chain (every
alternative listed with its probability, the one `--probe` saw in conntrack followed), DNAT.

An expression the walker does not know is reported in `unknown` and treated as not matching,
so the trace never claims more than it knows. An IPv6 packet walks the `ip6 kube-proxy` table
the same way (`ip6 daddr` is the `ip daddr` of its family).
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass, field, replace
from typing import Any

from netlab.trace.rules import Match, Rule
from netlab.trace.walk import Choice, Env, Hit, Option, Packet, Walk, endpoint_text

TABLE_LABEL = "nft ip kube-proxy"  # the IPv4 table; NftTable.label names the one parsed
MAX_DEPTH = 64


@dataclass(frozen=True)
class NftTable:
    chains: dict[str, tuple[dict[str, Any], ...]] = field(default_factory=dict)  # chain -> rule objects
    base: dict[str, tuple[tuple[int, str, str], ...]] = field(default_factory=dict)  # hook -> (prio, chain, policy)
    elements: dict[str, list[Any]] = field(default_factory=dict)  # set/map -> elem list
    texts: dict[int, str] = field(default_factory=dict)  # rule handle -> its text
    label: str = TABLE_LABEL  # "nft ip kube-proxy" | "nft ip6 kube-proxy"


def parse_table(listing_json: str, listing_text: str = "") -> NftTable:
    """The table from `nft -j list table` (and, for the rules' text, `nft -a list table`)."""
    chains: dict[str, list[dict[str, Any]]] = {}
    base: dict[str, list[tuple[int, str, str]]] = {}
    elements: dict[str, list[Any]] = {}
    label = TABLE_LABEL
    for obj in json.loads(listing_json).get("nftables", []):
        if "table" in obj:
            label = f"nft {obj['table']['family']} {obj['table']['name']}"
        elif "chain" in obj:
            c = obj["chain"]
            chains.setdefault(c["name"], [])
            if "hook" in c:
                base.setdefault(c["hook"], []).append((int(c.get("prio", 0)), c["name"], c.get("policy", "accept")))
        elif "rule" in obj:
            chains.setdefault(obj["rule"]["chain"], []).append(obj["rule"])
        elif "set" in obj or "map" in obj:
            s = obj.get("set") or obj.get("map")
            elements[s["name"]] = list(s.get("elem", []))
    texts = {int(m.group(2)): m.group(1).strip() for m in re.finditer(r"^\s+(.*?) # handle (\d+)$", listing_text, re.M)}
    return NftTable(
        chains={k: tuple(v) for k, v in chains.items()},
        base={k: tuple(sorted(v)) for k, v in base.items()},
        elements=elements,
        texts=texts,
        label=label,
    )


def walk_hook(
    table: NftTable, hook: str, packet: Packet, env: Env = Env(), prefer: frozenset[str] = frozenset()
) -> list[Walk]:
    """One Walk per base chain at `hook`, in priority order; the packet threads through them.
    The list stops at a chain that dropped or rejected the packet."""
    walks = []
    for _, chain, policy in table.base.get(hook, ()):
        state = _State(table, env, prefer, packet)
        verdict = state.run(chain, 0)
        walks.append(state.result(chain, verdict, policy))
        packet = state.packet
        if walks[-1].verdict in ("DROP", "REJECT"):
            break
    return walks


class _Return(Exception):
    pass


class _State:
    def __init__(self, table: NftTable, env: Env, prefer: frozenset[str], packet: Packet) -> None:
        self.table, self.env, self.prefer, self.packet = table, env, prefer, packet
        self.hits: list[Hit] = []
        self.choices: list[Choice] = []
        self.unknown: list[str] = []
        self.visited: list[str] = []
        self.terminal: Rule | None = None
        self.detail = ""

    def result(self, chain: str, verdict: str | None, policy: str) -> Walk:
        if verdict is None:
            verdict, detail = policy.upper(), f"policy {policy}"
        else:
            detail = self.detail
        return Walk(
            self.table.label, chain, tuple(self.hits), verdict, detail, self.packet,
            tuple(self.choices), tuple(self.unknown), tuple(self.visited),
        )  # fmt: skip

    def run(self, chain: str, depth: int) -> str | None:
        """Walk a chain: the verdict (ACCEPT, DROP, REJECT, DNAT, MASQUERADE), or None when it ended."""
        if depth > MAX_DEPTH or chain not in self.table.chains:
            return None
        self.visited.append(chain)
        for index, rule in enumerate(self.table.chains[chain], 1):
            try:
                verdict = self._rule(chain, index, rule, depth)
            except _Return:
                return None
            if verdict is not None:
                return verdict
        return None

    def _rule(self, chain: str, index: int, rule: dict[str, Any], depth: int) -> str | None:
        r = self._as_rule(chain, index, rule)
        for expr in rule.get("expr", []):
            (kind, body), = expr.items()
            if kind == "match":
                ok = self._match(body)
                if ok is None:
                    self.unknown.append(r.text)
                if not ok:
                    return None
            elif kind in ("counter", "update", "set", "log", "limit"):
                continue
            elif kind == "mangle" and body.get("key") == {"meta": {"key": "mark"}}:
                self.packet = replace(self.packet, mark=self._mark(body["value"]))
                self.hits.append(Hit(r, f"mark {self.packet.mark:#x}"))
            elif kind in ("jump", "goto"):
                self.hits.append(Hit(r))
                return self._enter(body["target"], kind, depth)
            elif kind == "vmap":
                return self._vmap(r, body, depth)
            elif kind == "return":
                self.hits.append(Hit(r))
                raise _Return
            elif kind in ("accept", "drop", "reject", "masquerade", "dnat"):
                self.hits.append(Hit(r))
                return self._terminal(kind, body)
            else:
                self.unknown.append(r.text)
                return None
        return None

    def _enter(self, target: str, kind: str, depth: int) -> str | None:
        verdict = self.run(target, depth + 1)
        if verdict is None and kind == "goto":
            raise _Return  # a goto that returns ends the calling chain too
        return verdict

    def _vmap(self, r: Rule, body: dict[str, Any], depth: int) -> str | None:
        key, data = body["key"], body["data"]
        if isinstance(key, dict) and "numgen" in key:
            pairs = data["set"] if isinstance(data, dict) else []
            return self._numgen(r, key["numgen"], pairs, depth)
        value = self._value(key)
        if value is None:
            self.unknown.append(r.text)
            return None
        entries = self.table.elements.get(data[1:], []) if isinstance(data, str) and data.startswith("@") else data.get("set", [])
        for k, verdict in entries:
            if _same(_elem(k), value):
                (kind, target), = verdict.items()
                self.hits.append(Hit(r, f"{_show(value)} → {kind} {target['target'] if isinstance(target, dict) else ''}".strip()))
                if kind in ("jump", "goto"):
                    return self._enter(target["target"], kind, depth)
                return self._terminal(kind, target)
        return None

    def _numgen(self, r: Rule, numgen: dict[str, Any], pairs: list[Any], depth: int) -> str | None:
        mod = int(numgen.get("mod", len(pairs) or 1))
        targets = [(int(_elem(k)), v) for k, v in pairs]
        options = tuple(
            Option(r, v[next(iter(v))]["target"], 1.0 / mod, self._dnat_of(v[next(iter(v))]["target"]))
            for _, v in sorted(targets, key=lambda t: t[0])
        )
        if not options:
            return None
        chosen = next((i for i, o in enumerate(options) if o.destination in self.prefer), None)
        why = "seen by --probe" if chosen is not None else "first of the alternatives"
        chosen = chosen or 0
        self.choices.append(Choice(r.chain, options, chosen, why))
        self.hits.append(Hit(r, f"numgen random mod {mod} → {options[chosen].target}"))
        (kind, _), = dict(sorted(targets, key=lambda t: t[0])[chosen][1]).items()
        return self._enter(options[chosen].target, kind, depth)

    def _dnat_of(self, chain: str) -> str | None:
        for rule in self.table.chains.get(chain, ()):
            for expr in rule.get("expr", []):
                if "dnat" in expr:
                    return endpoint_text(str(expr["dnat"].get("addr")), expr["dnat"].get("port"))
        return None

    def _terminal(self, kind: str, body: Any) -> str:
        if kind == "dnat":
            self.packet = replace(self.packet, dst=str(body["addr"]), dport=int(body.get("port", self.packet.dport)))
            self.detail = f"DNAT to {endpoint_text(str(body['addr']), body.get('port', self.packet.dport))}"
            return "DNAT"
        if kind == "reject":
            self.detail = f"REJECT {(body or {}).get('expr', 'port-unreachable')}"
            return "REJECT"
        self.detail = {"accept": "ACCEPT", "drop": "DROP", "masquerade": "MASQUERADE (source becomes the outgoing address)"}[kind]
        return kind.upper()

    # -- expressions ---------------------------------------------------------------------------

    def _match(self, body: dict[str, Any]) -> bool | None:
        left = self._value(body["left"])
        if left is None:
            return None
        right, op = body["right"], body["op"]
        if isinstance(body["left"], dict) and "ct" in body["left"]:
            states = right if isinstance(right, list) else [right]
            found = left in states
        elif isinstance(right, str) and right.startswith("@"):
            found = any(_same(_elem(e), left) for e in self.table.elements.get(right[1:], []))
        elif isinstance(right, dict) and "set" in right:
            found = any(_contains(_elem(e), left) for e in right["set"])
        else:
            found = _contains(right, left)
        return not found if op == "!=" else found

    def _value(self, expr: Any) -> Any:
        p = self.packet
        if isinstance(expr, dict):
            if "payload" in expr:
                proto, fld = expr["payload"]["protocol"], expr["payload"]["field"]
                if proto in ("ip", "ip6"):
                    return {"saddr": p.src, "daddr": p.dst}.get(fld)
                if fld == "dport" and proto in ("th", p.protocol):
                    return p.dport
                if fld == "dport":
                    return -1  # a tcp match on a udp packet: never equal
                return None
            if "meta" in expr:
                return {"l4proto": p.protocol, "mark": p.mark}.get(expr["meta"]["key"])
            if "ct" in expr and expr["ct"].get("key") == "state":
                return p.ctstate.lower()
            if "fib" in expr:
                addr = p.src if "saddr" in expr["fib"].get("flags", []) else p.dst
                return "local" if addr in self.env.local_addresses else "unicast"
            if "&" in expr:
                a, b = (self._value(x) for x in expr["&"])
                return a & b if isinstance(a, int) and isinstance(b, int) else None
            if "concat" in expr:
                parts = [self._value(x) for x in expr["concat"]]
                return None if None in parts else parts
            return None
        return expr  # a literal

    def _mark(self, value: Any) -> int:
        if isinstance(value, int):
            return value
        (op, (_, operand)), = value.items()
        return self.packet.mark | operand if op == "|" else self.packet.mark ^ operand if op == "^" else self.packet.mark

    def _as_rule(self, chain: str, index: int, rule: dict[str, Any]) -> Rule:
        text = self.table.texts.get(int(rule.get("handle", -1)), "") or _fallback_text(rule)
        comment = rule.get("comment")
        return Rule(self.table.label, chain, index, text, (Match("--comment", comment),) if comment else (), "")


def _elem(e: Any) -> Any:
    if isinstance(e, dict) and "elem" in e:
        e = e["elem"].get("val")
    if isinstance(e, dict) and "concat" in e:
        return list(e["concat"])
    return e


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return str(a) == str(b)


def _contains(right: Any, left: Any) -> bool:
    if isinstance(right, dict) and "prefix" in right:
        try:
            net = ipaddress.ip_network(f"{right['prefix']['addr']}/{right['prefix']['len']}")
            return ipaddress.ip_address(str(left)) in net
        except ValueError:
            return False
    if isinstance(right, dict) and "range" in right:
        lo, hi = right["range"]
        return str(lo) <= str(left) <= str(hi) if not isinstance(left, int) else lo <= left <= hi
    return _same(right, left)


def _show(value: Any) -> str:
    return " . ".join(str(v) for v in value) if isinstance(value, list) else str(value)


def _fallback_text(rule: dict[str, Any]) -> str:
    return json.dumps(rule.get("expr", []))[:200]
