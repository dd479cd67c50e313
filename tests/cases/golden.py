"""Golden files: the text a renderer must produce, kept beside the unit tests and reviewed like
code. `NETLAB_UPDATE_GOLDEN=1 pytest …` writes them after an intended change."""

from __future__ import annotations

import os
from pathlib import Path

GOLDEN = Path(__file__).parent.parent / "unit" / "golden"


def check(path: Path, text: str) -> None:
    """`text` is the file at `path` (written first when NETLAB_UPDATE_GOLDEN=1)."""
    if os.environ.get("NETLAB_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"{path} is missing; run with NETLAB_UPDATE_GOLDEN=1 to create it"
    assert text == path.read_text()
