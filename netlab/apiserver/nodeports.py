"""NodePort allocation (pure): the apiserver's service-node-port-range allocator.

Like kube-apiserver (KEP-3668, on by default since 1.29), the range has a small "static" band
at the bottom for ports users pick themselves; automatic allocation takes a random free port
from the upper band first and only falls back to the static band when that is full, so a
hand-picked `nodePort: 30080` rarely collides with an allocated one.
"""

from __future__ import annotations

import random
from typing import Collection

from netlab.apiserver.allocators import Exhausted

STATIC_BAND_MIN = 16
STATIC_BAND_MAX = 128
STATIC_BAND_STEP = 32


def static_band_size(port_range: range) -> int:
    """Upstream calculateRangeOffset: min(max(16, size/32), 128), never the whole range."""
    size = len(port_range)
    if size < STATIC_BAND_MIN:
        return 0
    return min(max(STATIC_BAND_MIN, size // STATIC_BAND_STEP), STATIC_BAND_MAX)


def allocate_node_port(port_range: range, used: Collection[int], rng: random.Random | None = None) -> int:
    rng = rng or random.Random()
    offset = static_band_size(port_range)
    upper = [p for p in port_range[offset:] if p not in used]
    if upper:
        return rng.choice(upper)
    lower = [p for p in port_range[:offset] if p not in used]
    if lower:
        return rng.choice(lower)
    raise Exhausted(f"no free NodePort left in {port_range.start}-{port_range.stop - 1}")
