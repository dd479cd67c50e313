"""`netlab reset` while an `apply` runs: it takes the lab's lock, stops its control plane and
leaves nothing — no namespace, link, route, process or control plane.

In a module of its own: reset removes every lab on the machine, so no module lab may be alive."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import create_lab, netns_inode, nl, pids_in_netns

from netlab import naming

pytestmark = pytest.mark.root


def pause_pods(names: list[str]) -> str:
    return "".join(
        f"---\napiVersion: v1\nkind: Pod\nmetadata: {{name: {name}}}\n"
        "spec:\n  containers: [{name: pause, image: registry.k8s.io/pause:3.9}]\n"
        for name in names
    )


def test_reset_while_apply_runs_leaves_nothing(tmp_path: Path, leftovers, wait_until):
    """`reset` removes every lab on the machine: only run it when no other lab is there (as in CI)."""
    others = nl("cluster", "list").stdout.splitlines()[1:]
    if others:
        pytest.skip(f"netlab reset would remove other labs on this machine: {others}")
    lab = create_lab(tmp_path / "lab")
    path = lab.write(pause_pods([f"r-{i:02d}" for i in range(30)]), "reset")
    apply = subprocess.Popen(
        [sys.executable, "-m", "netlab", "apply", "--cluster", lab.name, "-f", str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: any(n.startswith(f"{lab.name}.default.r-") for n in lab.netns()) or apply.poll() is not None, 30, interval=0.005)
        inodes = {i for n in lab.netns() if (i := netns_inode(n)) is not None}
        nl("reset")
    finally:
        apply.wait(timeout=60)
    assert leftovers(lab.name, lab.ranges) == []
    wait_until(lambda: not pids_in_netns(inodes), 5, what="every process of the lab gone")
    assert not list(Path("/run/netlab/controller").glob(f"{lab.name}.*"))


def test_reset_with_the_state_directory_deleted_leaves_nothing(tmp_path: Path, leftovers, wait_until):
    """What netlab made is found by its marks, not by its records: with the state gone, reset
    still removes namespaces, links, routes, processes and the control plane."""
    others = nl("cluster", "list").stdout.splitlines()[1:]
    if others:
        pytest.skip(f"netlab reset would remove other labs on this machine: {others}")
    lab = create_lab(tmp_path / "lab")
    lab.apply(pause_pods(["kept-a", "kept-b"]) + "---\napiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {selector: {app: x}, ports: [{port: 80}]}\n")
    lab.wait_running("kept-a", "kept-b")
    inodes = {i for n in lab.netns() if (i := netns_inode(n)) is not None}
    assert pids_in_netns(inodes), "the pods run"
    shutil.rmtree(naming.cluster_dir(lab.name))

    nl("reset")

    assert leftovers(lab.name, lab.ranges) == []
    wait_until(lambda: not pids_in_netns(inodes), 5, what="every process of the lab gone")
    assert not list(Path("/run/netlab/controller").glob(f"{lab.name}.*"))
