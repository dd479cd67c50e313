"""Reconcile is level-triggered: `netlab apply` killed half-way (SIGKILL, no cleanup handlers)
leaves a lab that the next `netlab apply` finishes — every pod up once, nothing orphaned."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

pytestmark = pytest.mark.root

COUNT = 20
NETNS_DIR = Path("/run/netns")


def _pause_pods(names: list[str]) -> str:
    return "".join(
        f"---\napiVersion: v1\nkind: Pod\nmetadata: {{name: {name}}}\n"
        "spec:\n  containers: [{name: pause, image: registry.k8s.io/pause:3.9}]\n"
        for name in names
    )


def _pod_netns(lab) -> set[str]:
    return {n for n in lab.netns() if n.startswith(f"{lab.name}.default.")}


def _a_pod_namespace_is_up(lab) -> bool:
    # A pinned namespace is a bind mount; the bare file that precedes the mount does not count
    # (that crash window has its own test below).
    return any(os.path.ismount(NETNS_DIR / n) for n in _pod_netns(lab))


def _half_made_pin(netns: str) -> Path:
    """What a crash between creating /run/netns/NAME and bind-mounting the namespace leaves."""
    pin = NETNS_DIR / netns
    pin.touch(mode=0)
    return pin


def _remove_if_bare(pin: Path) -> None:
    if pin.exists() and not os.path.ismount(pin):
        pin.unlink()


def _apply_in_background(lab, path: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "netlab", "apply", "--cluster", lab.name, "-f", str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _kill(apply: subprocess.Popen) -> None:
    if apply.poll() is None:
        os.kill(apply.pid, signal.SIGKILL)
    apply.wait()
    assert apply.returncode == -signal.SIGKILL, "apply finished before it could be interrupted"


def test_apply_killed_midway_is_finished_by_the_next_apply(lab, wait_until):
    names = [f"p-{i:02d}" for i in range(COUNT)]
    path = lab.write(_pause_pods(names), "pause")
    apply = _apply_in_background(lab, path)
    try:
        # Kill as soon as the first pod sandbox exists: the objects are stored, the work is not done.
        wait_until(lambda: _a_pod_namespace_is_up(lab) or apply.poll() is not None, timeout=30, interval=0.001)
    finally:
        _kill(apply)
    assert len(_pod_netns(lab)) < COUNT

    out = lab.nl("apply", "-f", str(path)).stdout

    assert sorted(out.splitlines()) == [f"pod/{n} unchanged" for n in names]
    lab.wait_running(*names)
    assert _pod_netns(lab) == {lab.pod_netns(n) for n in names}
    pods = lab.get_json("pods")["items"]
    ips = [p["status"]["podIP"] for p in pods]
    assert len(set(ips)) == COUNT, f"duplicate pod IPs: {Counter(ips).most_common(3)}"
    # Each pod runs its pause container exactly once: the same number of processes in each.
    per_pod = {n: len(lab.pids_in(lab.pod_netns(n))) for n in names}
    assert len(set(per_pod.values())) == 1, per_pod
    # Every pod's eth0 really carries the IP the store reports.
    for pod in pods[:: COUNT // 4]:
        (eth0,) = lab.ip_json("-4", "addr", "show", "dev", "eth0", netns=lab.pod_netns(pod["metadata"]["name"]))
        assert [a["local"] for a in eth0["addr_info"]] == [pod["status"]["podIP"]]


def test_apply_killed_right_after_a_pods_veth_appears_is_finished_by_the_next_apply(lab):
    path = lab.write(_pause_pods(["veth-cut"]).replace("spec:\n", "spec:\n  nodeName: node-a\n"), "veth-cut")
    # Watch node-a's links; the pod's host-side veth is the first link event there.
    monitor = subprocess.Popen(
        ["ip", "-n", lab.node_netns("node-a"), "monitor", "link"], stdout=subprocess.PIPE, text=True
    )
    try:
        apply = _apply_in_background(lab, path)
        try:
            deadline = time.monotonic() + 30
            while apply.poll() is None and time.monotonic() < deadline:
                ready, _, _ = select.select([monitor.stdout], [], [], 0.05)
                if ready and "veth" in monitor.stdout.readline():
                    break
        finally:
            _kill(apply)
    finally:
        monitor.terminate()
        monitor.wait()

    lab.nl("apply", "-f", str(path))
    lab.wait_running("veth-cut")

    assert lab.exec("veth-cut", "hostname").stdout.strip() == "veth-cut"
    # No veth of the killed attempt is left behind: one cni0 port per pod on node-a, no more.
    on_node_a = [p for p in lab.get_json("pods", "-A")["items"] if p["spec"].get("nodeName") == "node-a"]
    links = lab.ip_json("-d", "link", "show", "type", "veth", netns=lab.node_netns("node-a"))
    veths = [link for link in links if link["ifname"] != "eth0"]  # eth0: the node's uplink
    assert len(veths) == len(on_node_a), [v["ifname"] for v in veths]
    assert all(v.get("master") == "cni0" for v in veths), veths


def test_a_namespace_pin_half_made_by_a_crash_does_not_block_the_next_apply(lab):
    pin = _half_made_pin(lab.pod_netns("half-made"))
    try:
        lab.apply(_pause_pods(["half-made"]), "half-made")
        lab.wait_running("half-made")

        assert os.path.ismount(pin)
        assert lab.exec("half-made", "hostname").stdout.strip() == "half-made"
    finally:
        _remove_if_bare(pin)


def test_cluster_delete_removes_a_namespace_pin_half_made_by_a_crash(fresh_lab, nl, leftovers):
    pin = _half_made_pin(fresh_lab.pod_netns("half-made"))
    try:
        nl("cluster", "delete", "--name", fresh_lab.name)

        assert leftovers(fresh_lab.name, fresh_lab.ranges) == []
    finally:
        _remove_if_bare(pin)
