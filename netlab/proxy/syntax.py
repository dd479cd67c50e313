"""How kube-proxy spells its iptables-restore lines (pure helpers shared by the renderers)."""

from __future__ import annotations

from collections.abc import Iterable


def rule(chain: str, *args: str) -> str:
    return " ".join(("-A", chain, *args))


def comment(text: str) -> list[str]:
    # Upstream quotes the comments that contain spaces; iptables-restore splits on them.
    return ["-m", "comment", "--comment", f'"{text}"' if " " in text else text]


def probability(n: int) -> str:
    return f"{1.0 / n:0.10f}"  # upstream computeProbability: "%0.10f"


def chain_lines(chains: Iterable[str]) -> list[str]:
    return [f":{chain} - [0:0]" for chain in chains]
