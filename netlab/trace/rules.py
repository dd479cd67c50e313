"""`iptables-save` text → tables, chains and rules (pure).

The trace reads the rules a node really has, not the ones netlab meant to write: whatever
kube-proxy's renderer, the policy agent or a person with `iptables -A` put there is walked the
same way. Only what `iptables-save` prints is parsed; each rule keeps its original text so the
trace can quote it. `iptables-save -c` counters (`[packets:bytes]` before the rule) are kept.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

# Options that take no value in iptables-save output (anything else starting with - takes one,
# except where a module's option list says otherwise).
_FLAGS = frozenset({"--random-fully", "--random", "--persistent", "--syn", "--rcheck", "--set", "--update"})


@dataclass(frozen=True)
class Match:
    """One option of a rule, e.g. `-d 10.96.0.10/32` or `! --mark 0x4000/0x4000`."""

    option: str  # "-d", "--dport", "--ctstate", "--dst-type", ...
    value: str  # "" for flags
    negated: bool = False
    module: str = ""  # the `-m` module this option belongs to ("" for -s/-d/-p/-i/-o)


@dataclass(frozen=True)
class Rule:
    table: str
    chain: str
    index: int  # 1-based position in the chain, as `iptables -L --line-numbers` counts
    text: str  # the line as iptables-save printed it, without counters
    matches: tuple[Match, ...]
    target: str  # "KUBE-SVC-…", "DNAT", "ACCEPT", "" when the rule has no -j
    target_args: tuple[tuple[str, str], ...] = ()  # (("--to-destination", "10.244.1.2:8080"),)
    goto: bool = False  # -g: jump without return
    packets: int | None = None  # from `iptables-save -c`
    bytes: int | None = None

    def option(self, name: str) -> Match | None:
        return next((m for m in self.matches if m.option == name), None)

    def target_arg(self, name: str) -> str | None:
        return next((v for k, v in self.target_args if k == name), None)

    @property
    def comment(self) -> str | None:
        found = self.option("--comment")
        return found.value if found else None


@dataclass(frozen=True)
class Chain:
    table: str
    name: str
    policy: str | None  # ACCEPT/DROP for built-in chains, None for user chains
    rules: tuple[Rule, ...] = ()
    packets: int = 0  # the policy's counters
    bytes: int = 0

    @property
    def builtin(self) -> bool:
        return self.policy is not None


@dataclass(frozen=True)
class Ruleset:
    tables: dict[str, dict[str, Chain]] = field(default_factory=dict)

    def chain(self, table: str, name: str) -> Chain | None:
        return self.tables.get(table, {}).get(name)

    def chain_counts(self) -> dict[str, tuple[int, int]]:
        """{table: (chains, rules)}, for `describe node`."""
        return {t: (len(chains), sum(len(c.rules) for c in chains.values())) for t, chains in self.tables.items()}


def parse(text: str) -> Ruleset:
    """Parse `iptables-save [-c]` output; raises ValueError naming the bad line."""
    tables: dict[str, dict[str, Chain]] = {}
    rules: dict[tuple[str, str], list[Rule]] = {}
    table = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            if line.startswith("*"):
                table = line[1:]
                tables[table] = {}
            elif line == "COMMIT":
                table = None
            elif table is None:
                raise ValueError("outside a table")
            elif line.startswith(":"):
                chain = _chain_line(table, line)
                tables[table][chain.name] = chain
            else:
                rule = _rule_line(table, line, rules)
                rules.setdefault((table, rule.chain), []).append(rule)
        except ValueError as exc:
            raise ValueError(f"iptables-save line {number}: {exc}: {raw!r}") from None
    for (tname, cname), found in rules.items():
        chains = tables[tname]
        base = chains.get(cname) or Chain(tname, cname, None)
        chains[cname] = Chain(tname, cname, base.policy, tuple(found), base.packets, base.bytes)
    return Ruleset(tables)


def _counters(text: str) -> tuple[int, int]:
    packets, _, count = text.strip("[]").partition(":")
    return int(packets), int(count)


def _chain_line(table: str, line: str) -> Chain:
    parts = line[1:].split()
    if len(parts) < 2:
        raise ValueError("chain line without a policy")
    name, policy = parts[0], parts[1]
    packets, count = _counters(parts[2]) if len(parts) > 2 else (0, 0)
    return Chain(table, name, None if policy == "-" else policy, (), packets, count)


def _rule_line(table: str, line: str, seen: dict[tuple[str, str], list[Rule]]) -> Rule:
    packets = count = None
    if line.startswith("["):
        counters, _, line = line.partition(" ")
        packets, count = _counters(counters)
    words = shlex.split(line)
    if len(words) < 2 or words[0] != "-A":
        raise ValueError("expected -A CHAIN")
    chain = words[1]
    matches: list[Match] = []
    target, goto, target_args = "", False, []
    module, negate = "", False
    i = 2
    while i < len(words):
        word = words[i]
        if word == "!":
            negate = True
            i += 1
            continue
        if word == "-m":
            module = words[i + 1]
            i += 2
            continue
        if word in ("-j", "-g"):
            target, goto = words[i + 1], word == "-g"
            rest = words[i + 2 :]
            target_args = _target_args(rest)
            break
        if not word.startswith("-"):
            raise ValueError(f"unexpected word {word!r}")
        # An option's value is every word up to the next option (`--match-set NAME src`).
        j = i + 1
        while word not in _FLAGS and j < len(words) and not _is_option(words[j]) and words[j] != "!":
            j += 1
        value = " ".join(words[i + 1 : j])
        matches.append(Match(word, value, negate, "" if word in ("-s", "-d", "-p", "-i", "-o") else module))
        negate = False
        i = j
    index = len(seen.get((table, chain), [])) + 1
    text = " ".join(shlex.quote(w) if " " in w else w for w in words)
    return Rule(table, chain, index, text.replace("'", '"'), tuple(matches), target, tuple(target_args), goto, packets, count)


def _is_option(word: str) -> bool:
    # "-1" is not an option; options are -x or --xyz.
    return word.startswith("-") and len(word) > 1 and not word[1].isdigit()


def _target_args(words: list[str]) -> list[tuple[str, str]]:
    args, i = [], 0
    while i < len(words):
        name = words[i]
        if i + 1 < len(words) and not _is_option(words[i + 1]):
            args.append((name, words[i + 1]))
            i += 2
        else:
            args.append((name, ""))
            i += 1
    return args
