"""Walk one packet through a node's live rules, as netfilter would (pure).

Given the parsed `iptables-save` of a node, a hook (`nat PREROUTING`, `filter FORWARD`, …) and a
packet, follow the rules in order: jumps into user chains and back (RETURN or falling off the
end), non-terminating targets (MARK, LOG) and the terminating verdict (ACCEPT, DROP, REJECT,
DNAT, MASQUERADE). Chains are recognised by what they do, not by name, so KUBE-NODEPORTS, the
policy agent's chains or a rule someone added by hand are walked like KUBE-SERVICES.

The trace packet is the first packet of a connection (conntrack state NEW). kube-proxy's load
balancing (`-m statistic --mode random --probability p`) is a random choice: the walker lists
every alternative with its effective probability and follows one — the endpoint `prefer` names
(what `--probe` saw in conntrack), else the first. A match it cannot evaluate is reported in
`unknown` and treated as not matching, so the trace never claims more than it knows.

IPv4 and IPv6 are walked alike: the ruleset is whichever `iptables-save` or `ip6tables-save`
printed for the packet's family, and addresses compare by family (`[fd00::2]:8080` in a DNAT).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, replace

from netlab.trace.rules import Chain, Rule, Ruleset

TERMINAL = frozenset({"ACCEPT", "DROP", "REJECT", "DNAT", "SNAT", "MASQUERADE", "REDIRECT"})
MAX_DEPTH = 64  # a chain loop in hand-made rules must not hang the trace
# Matches that never change the verdict for the trace packet.
_ALWAYS = frozenset({"--comment", "--limit", "--limit-burst", "--mode"})


@dataclass(frozen=True)
class Packet:
    src: str
    dst: str
    protocol: str  # "tcp" | "udp"
    dport: int
    sport: int = 0  # 0: not known yet (an ephemeral port)
    mark: int = 0
    in_iface: str = ""
    out_iface: str = ""
    ctstate: str = "NEW"


@dataclass(frozen=True)
class Option:
    """One alternative of a load-balancing choice."""

    rule: Rule
    target: str  # KUBE-SEP-…
    probability: float  # the chance this alternative is taken, all earlier rules considered
    destination: str | None  # the DNAT target inside it, "10.244.1.2:8080"


@dataclass(frozen=True)
class Choice:
    chain: str
    options: tuple[Option, ...]
    chosen: int  # index into options
    why: str  # "first of the alternatives" | "seen by --probe"


@dataclass(frozen=True)
class Hit:
    """A rule whose matches all held: a jump, a MARK, or the verdict."""

    rule: Rule
    note: str = ""


@dataclass(frozen=True)
class Walk:
    table: str
    hook: str
    hits: tuple[Hit, ...]
    verdict: str  # ACCEPT, DROP, REJECT, DNAT, MASQUERADE, … or the policy of the hook
    detail: str  # "DNAT to 10.244.1.2:8080", "policy ACCEPT", "REJECT icmp-port-unreachable"
    packet: Packet  # as it leaves the hook (destination rewritten, mark set)
    choices: tuple[Choice, ...] = ()
    unknown: tuple[str, ...] = ()
    chains: tuple[str, ...] = ()  # every chain entered, in order, the hook first

@dataclass(frozen=True)
class Env:
    """What the rules may ask about the node itself."""

    local_addresses: frozenset[str] = frozenset()


def walk(ruleset: Ruleset, table: str, hook: str, packet: Packet, env: Env = Env(), prefer: frozenset[str] = frozenset()) -> Walk:
    """Send `packet` through built-in chain `hook` of `table`."""
    state = _State(ruleset, table, env, prefer, packet)
    try:
        verdict = state.run(hook, 0)
    except _Return:  # RETURN in a built-in chain: its policy decides
        verdict = None
    chain = ruleset.chain(table, hook)
    if verdict is None:
        policy = (chain.policy if chain else None) or "ACCEPT"
        return state.result(hook, policy, f"policy {policy}" + ("" if chain else f" (no {table} {hook} chain)"))
    rule = verdict
    return state.result(hook, rule.target, _verdict_detail(rule))


def dnat_destination(ruleset: Ruleset, table: str, chain: str) -> str | None:
    """The `--to-destination` of the first DNAT rule in `chain` (a KUBE-SEP chain's endpoint)."""
    found = ruleset.chain(table, chain)
    for rule in found.rules if found else ():
        if rule.target == "DNAT":
            return rule.target_arg("--to-destination")
    return None


class _State:
    def __init__(self, ruleset: Ruleset, table: str, env: Env, prefer: frozenset[str], packet: Packet) -> None:
        self.ruleset, self.table, self.env, self.prefer = ruleset, table, env, prefer
        self.packet = packet
        self.hits: list[Hit] = []
        self.choices: list[Choice] = []
        self.unknown: list[str] = []
        self.visited: list[str] = []

    def result(self, hook: str, verdict: str, detail: str) -> Walk:
        return Walk(
            self.table, hook, tuple(self.hits), verdict, detail, self.packet,
            tuple(self.choices), tuple(self.unknown), tuple(self.visited),
        )

    def run(self, name: str, depth: int) -> Rule | None | str:
        """Walk a chain; the terminating rule, None when it returned, or "goto-return"."""
        chain = self.ruleset.chain(self.table, name)
        if chain is None or depth > MAX_DEPTH:
            return None
        self.visited.append(name)
        rules = chain.rules
        i = 0
        while i < len(rules):
            rule = rules[i]
            statistic = rule.option("--probability")
            if statistic is not None and self._matches(rule):
                taken = self._choose(chain, i)
                i = taken
                rule = rules[i]
            elif not self._matches(rule):
                i += 1
                continue
            outcome = self._apply(rule, depth)
            if outcome is not None:
                return outcome
            i += 1
        return None

    def _apply(self, rule: Rule, depth: int) -> Rule | None:
        target = rule.target
        if target in TERMINAL:
            self.hits.append(Hit(rule, _verdict_detail(rule)))
            if target == "DNAT":
                self.packet = _dnat(self.packet, rule.target_arg("--to-destination") or "")
            return rule
        if target == "RETURN":
            self.hits.append(Hit(rule, "RETURN"))
            raise _Return()
        if target == "MARK":
            self.packet = replace(self.packet, mark=_mark(self.packet.mark, rule))
            self.hits.append(Hit(rule, f"mark now {self.packet.mark:#x}"))
            return None
        if self.ruleset.chain(self.table, target) is not None:
            self.hits.append(Hit(rule, f"jump to {target}" if not rule.goto else f"goto {target}"))
            try:
                outcome = self.run(target, depth + 1)
            except _Return:
                outcome = None
            if outcome is not None:
                return outcome
            if rule.goto:
                raise _Return()
            return None
        if target:
            self.hits.append(Hit(rule, f"{target}: not a verdict, walk goes on"))
        return None

    def _choose(self, chain: Chain, start: int) -> int:
        """kube-proxy's random pick among the rules from `start` on; returns the index taken."""
        options: list[tuple[int, Option]] = []
        remaining = 1.0
        for i in range(start, len(chain.rules)):
            rule = chain.rules[i]
            if not self._matches(rule):
                continue
            p = _probability(rule)
            dest = dnat_destination(self.ruleset, self.table, rule.target)
            options.append((i, Option(rule, rule.target, round(remaining * p, 6), dest)))
            remaining *= 1.0 - p
            if remaining <= 0:
                break
        preferred = [k for k, (_, o) in enumerate(options) if o.target in self.prefer or o.destination in self.prefer]
        chosen = preferred[0] if preferred else 0
        why = "seen by --probe" if preferred else "first of the alternatives (the kernel picks at random)"
        self.choices.append(Choice(chain.name, tuple(o for _, o in options), chosen, why))
        return options[chosen][0]

    def _matches(self, rule: Rule) -> bool:
        for m in rule.matches:
            if m.option in _ALWAYS or m.option == "--probability":
                continue
            result = _evaluate(m.option, m.value, self.packet, self.env)
            if result is None:
                self.unknown.append(f"{rule.chain} rule {rule.index}: {'! ' if m.negated else ''}{m.option} {m.value}".strip())
                return False
            if result == m.negated:
                return False
        return True


class _Return(Exception):
    """RETURN from a user chain (or the end of a goto'd one) unwinds to the caller."""


def _evaluate(option: str, value: str, p: Packet, env: Env) -> bool | None:
    if option == "-s":
        return _in(p.src, value)
    if option == "-d":
        return _in(p.dst, value)
    if option == "-p":
        return value in ("all", "0") or value.lower() == p.protocol
    if option in ("-i", "-o"):
        iface = p.in_iface if option == "-i" else p.out_iface
        if not iface:
            return None
        return iface.startswith(value[:-1]) if value.endswith("+") else iface == value
    if option in ("--dport", "--destination-port"):
        return _port_in(p.dport, value)
    if option in ("--sport", "--source-port"):
        return _port_in(p.sport, value) if p.sport else None
    if option in ("--dports", "--destination-ports"):
        return any(_port_in(p.dport, part) for part in value.split(","))
    if option in ("--ctstate", "--state"):
        return p.ctstate in value.split(",")
    if option == "--mark":
        mark, _, mask = value.partition("/")
        m = int(mask, 0) if mask else 0xFFFFFFFF
        return (p.mark & m) == int(mark, 0)
    if option == "--dst-type":
        return _addrtype(p.dst, value, env)
    if option == "--src-type":
        return _addrtype(p.src, value, env)
    return None


def _addrtype(ip: str, kind: str, env: Env) -> bool | None:
    address = ipaddress.ip_address(ip)
    local = ip in env.local_addresses or address.is_loopback
    if kind == "LOCAL":
        return local
    if kind == "UNICAST":
        return not address.is_multicast
    return None


def _in(ip: str, network: str) -> bool:
    address, net = ipaddress.ip_address(ip), ipaddress.ip_network(network, strict=False)
    return address.version == net.version and address in net


def split_endpoint(text: str) -> tuple[str, int | None]:
    """`10.244.1.2:8080` or `[fd00:10:244:1::2]:8080` (a DNAT target) → (address, port)."""
    if text.startswith("["):
        host, _, port = text[1:].partition("]")
        port = port.removeprefix(":")
    elif text.count(":") > 1:
        return text, None  # a bare IPv6 address
    else:
        host, _, port = text.partition(":")
    return host, int(port.split("-")[0]) if port else None


def endpoint_text(ip: str, port: int) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def _port_in(port: int, spec: str) -> bool:
    low, _, high = spec.partition(":")
    return int(low or 0) <= port <= int(high or low or 65535)


def _probability(rule: Rule) -> float:
    found = rule.option("--probability")
    return float(found.value) if found else 1.0


def _mark(mark: int, rule: Rule) -> int:
    for option, value in rule.target_args:
        v, _, m = value.partition("/")
        value_int = int(v, 0) if v else 0
        mask = int(m, 0) if m else 0xFFFFFFFF
        if option == "--set-xmark":
            return (mark & ~mask & 0xFFFFFFFF) ^ value_int
        if option == "--set-mark":
            return (mark & ~mask & 0xFFFFFFFF) | value_int
        if option == "--or-mark":
            return mark | value_int
        if option == "--xor-mark":
            return mark ^ value_int
        if option == "--and-mark":
            return mark & value_int
    return mark


def _dnat(packet: Packet, to: str) -> Packet:
    ip, port = split_endpoint(to)
    return replace(packet, dst=ip or packet.dst, dport=port or packet.dport)


def _verdict_detail(rule: Rule) -> str:
    if rule.target == "DNAT":
        return f"DNAT to {rule.target_arg('--to-destination')}"
    if rule.target == "REJECT":
        return f"REJECT ({rule.target_arg('--reject-with') or 'icmp-port-unreachable'})"
    if rule.target == "SNAT":
        return f"SNAT to {rule.target_arg('--to-source')}"
    if rule.target == "MASQUERADE":
        return "MASQUERADE (source becomes the outgoing interface's address)"
    return rule.target
