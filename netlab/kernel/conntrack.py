"""`conntrack -D` inside a node namespace: drop flows that still point at a gone endpoint."""

from __future__ import annotations

import re
import shutil
import subprocess

from netlab.errors import KernelError
from netlab.kernel import ns


def available() -> bool:
    return shutil.which("conntrack") is not None


def delete(netns_path: str, filters: list[str], family: int = 4) -> int:
    """Delete the flows matching `filters` (conntrack's own options) in IP family 4 or 6
    (`-f ipv6`: conntrack lists IPv4 flows only unless told); returns how many went.

    conntrack exits 1 with "0 flow entries have been deleted" when nothing matched: success.
    """
    argv = [shutil.which("conntrack") or "conntrack", "-D", *(["-f", "ipv6"] if family == 6 else []), *filters]
    with ns.entered(netns_path):
        result = subprocess.run(argv, capture_output=True, text=True)
    text = result.stderr + result.stdout
    deleted = re.search(r"(\d+) flow entries have been deleted", text)
    if deleted is None:
        raise KernelError(f"conntrack -D failed in {netns_path}", detail=text.strip())
    return int(deleted.group(1))
