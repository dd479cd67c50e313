"""A kernel refusal reaches the user as one line naming the object — never a pyroute2 traceback."""

from __future__ import annotations

import secrets
import subprocess

import pytest

from netlab.errors import KernelError
from netlab.kernel.netlink import Netlink


@pytest.fixture
def scratch_netns():
    """A namespace of this test's own (not a lab's), removed even when the test fails."""
    name = "nltest-" + secrets.token_hex(3)
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        yield f"/run/netns/{name}"
    finally:
        subprocess.run(["ip", "netns", "delete", name], check=False)


@pytest.mark.parametrize(
    "verb",
    [
        lambda nl: nl.set_hairpin("lo"),  # lo is no bridge port
        lambda nl: nl.set_master("lo", "lo"),  # lo is no bridge
        lambda nl: nl.set_alias("lo", "x" * 300),  # longer than IFALIASZ
    ],
    ids=["hairpin", "master", "alias"],
)
def test_a_refused_link_change_is_a_kernel_error_naming_the_link(scratch_netns, verb):
    with Netlink(scratch_netns) as nl:
        with pytest.raises(KernelError) as refused:
            verb(nl)
    assert "lo" in refused.value.message and scratch_netns in refused.value.message
    assert refused.value.detail  # says what to do
