"""nftables inside a node namespace: `nft -f` transactions, listings, the ruleset generation.

The `nft` binary (Debian's `nftables`) is what upstream's knftables drives too; one `nft -f`
file is one netlink batch, which the kernel applies whole or not at all.
"""

from __future__ import annotations

import shutil
import subprocess

from netlab.errors import EnvironmentProblem, KernelError
from netlab.kernel import ns


def available() -> bool:
    return shutil.which("nft") is not None


def _binary() -> str:
    path = shutil.which("nft")
    if path is None:
        raise EnvironmentProblem(
            "nft not found (kube-proxy's nftables mode needs it)",
            detail="install it: apt-get install nftables (scripts/setup.sh does)",
        )
    return path


def run(netns_path: str, script: str) -> None:
    """Apply `script` as one transaction in the namespace."""
    argv = [_binary(), "-f", "-"]
    with ns.entered(netns_path):
        result = subprocess.run(argv, input=script, text=True, capture_output=True)
    if result.returncode != 0:
        raise KernelError(f"nft -f failed in {netns_path}", detail=result.stderr.strip()[:2000])


def list_table(netns_path: str, family: str, table: str, *, json: bool = False, handles: bool = False) -> str | None:
    """`nft list table FAMILY TABLE` (-j: JSON, -a: with rule handles), or None when the table
    does not exist."""
    argv = [_binary(), *(["-j"] if json else []), *(["-a"] if handles else []), "list", "table", family, table]
    with ns.entered(netns_path):
        result = subprocess.run(argv, text=True, capture_output=True)
    if result.returncode != 0:
        if "No such file or directory" in result.stderr:
            return None
        raise KernelError(f"nft list table failed in {netns_path}", detail=result.stderr.strip())
    return result.stdout


def generation(netns_path: str) -> int:
    """The namespace's nf_tables generation: it moves on with every committed transaction
    (nft, iptables-nft, anyone's), so an unchanged number proves nobody touched the rules."""
    from pyroute2.netlink.nfnetlink.nftsocket import NFT_MSG_GETGEN, NFTSocket, nft_gen_msg

    with ns.entered(netns_path):
        sock = NFTSocket()
    try:
        reply = sock.request_get(nft_gen_msg(), NFT_MSG_GETGEN)
    finally:
        sock.close()
    return int(reply[0].get_attr("NFTA_GEN_ID"))
