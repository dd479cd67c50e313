"""A lab is alive: its control plane starts with it and reacts by itself — a crashed container
comes back, a failing readiness probe takes the pod out of its Service — and survives being
killed: the next command starts a new one that adopts the running containers, and a CLI killed
at any point never leaves a second copy of a container behind."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import Lab, control_plane_pids, netns_inode, pids_in_netns

from netlab.apiserver.state import open_lab
from netlab.kernel import runtime

pytestmark = pytest.mark.root

WRAPPER = runtime._WRAPPER.encode()  # kernel/runtime.py's launch wrapper, one per container


def control_plane(lab: Lab) -> int:
    pids = control_plane_pids(lab.name)
    assert len(pids) == 1, f"expected one control plane for {lab.name}, found {pids}"
    return pids[0]


def wrappers_in(netns_inodes: set[int]) -> dict[int, int]:
    """Container wrapper processes per pod network namespace (inode -> count)."""
    counts: dict[int, int] = {}
    for pid in pids_in_netns(netns_inodes):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
            inode = os.stat(f"/proc/{pid}/ns/net").st_ino
        except (FileNotFoundError, ProcessLookupError):
            continue
        if WRAPPER in argv:
            counts[inode] = counts.get(inode, 0) + 1
    return counts


def container_pids(lab: Lab, names: list[str]) -> dict[str, int]:
    """The recorded process of each pod's container (what `describe pod` shows as PID)."""
    store = open_lab(lab.name)
    try:
        return {n: store.store.get("Pod", "default", n).status["containers"][0]["pid"] for n in names}
    finally:
        store.close()


def pause_pods(names: list[str]) -> str:
    return "".join(
        f"---\napiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, labels: {{set: pause}}}}\n"
        "spec:\n  containers: [{name: pause, image: registry.k8s.io/pause:3.9}]\n"
        for name in names
    )


def test_the_control_plane_starts_with_the_lab(lab: Lab):
    pid = control_plane(lab)
    status = lab.nl("controller", "status").stdout
    assert f"running (pid {pid}," in status


def test_a_crashing_container_is_restarted_with_back_off_by_itself(lab: Lab, wait_until):
    lab.apply(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: crasher}\n"
        "spec:\n  containers:\n  - name: app\n    image: busybox\n    command: [sh, -c, 'echo up; exit 3']\n"
    )

    def restarts() -> int:
        return lab.pod("crasher")["status"]["containerStatuses"][0]["restartCount"]

    # No command from here on: the first restart is immediate, the next one waits 10 s.
    wait_until(lambda: restarts() >= 1, 5, what="crasher restarted by the control plane")
    row = wait_until(
        lambda: (r := lab.nl("get", "pods", "crasher").stdout.splitlines()[1].split())[2] == "CrashLoopBackOff" and r,
        10,
        what="crasher in CrashLoopBackOff",
    )
    assert row[0] == "crasher" and int(row[3]) >= 1
    events = lab.nl("events").stdout
    assert "Restarted" in events and "exit code 3" in events
    lab.nl("delete", "pod", "crasher")


def test_a_failing_readiness_probe_takes_the_pod_out_of_its_service_by_itself(lab: Lab, wait_until):
    flag = lab.workdir / "ready-web.ready"  # the probe looks at the host's file system, as a pod here sees it
    flag.touch()
    lab.apply(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: ready-web, labels: {app: ready-web}}\n"
        "spec:\n  containers:\n  - name: web\n    image: nginx\n    ports: [{containerPort: 80}]\n"
        "    readinessProbe:\n"
        f"      exec: {{command: [test, -e, {flag}]}}\n"
        "      periodSeconds: 1\n      failureThreshold: 1\n"
        "---\napiVersion: v1\nkind: Service\nmetadata: {name: ready-web}\n"
        "spec:\n  selector: {app: ready-web}\n  ports: [{port: 80}]\n"
    )
    lab.wait_running("ready-web")
    ip = lab.pod_ip("ready-web")
    node = lab.pod("ready-web")["spec"]["nodeName"]

    def dnat_to_pod() -> bool:
        rules = lab.in_netns(lab.node_netns(node), "iptables-save", "-t", "nat").stdout
        return f"--to-destination {ip}:80" in rules

    wait_until(dnat_to_pod, 5, what="the ready pod's DNAT rule")
    flag.unlink()
    # Within one probe period (+ the probe's own run and the rule sync), with no command typed.
    wait_until(lambda: not dnat_to_pod(), 3, what="the unready pod's DNAT rule removed")
    subsets = lab.get_json("endpoints", "ready-web").get("subsets") or []
    assert not any("addresses" in s for s in subsets), f"unready pod still an endpoint: {subsets}"
    flag.touch()
    wait_until(dnat_to_pod, 3, what="the pod back in its Service once ready again")
    lab.nl("delete", "svc", "ready-web")
    lab.nl("delete", "pod", "ready-web")


def test_a_killed_control_plane_is_replaced_and_adopts_what_runs(lab: Lab, wait_until):
    names = [f"adopt-{i}" for i in range(6)]
    path = lab.write(pause_pods(names), "adopt")
    lab.nl("apply", "-f", str(path))
    lab.wait_running(*names)
    before = container_pids(lab, names)
    old = control_plane(lab)

    os.kill(old, signal.SIGKILL)
    wait_until(lambda: old not in control_plane_pids(lab.name), 5, what="the old control plane gone")
    assert "not running" in lab.nl("controller", "status").stdout
    lab.nl("apply", "-f", str(path))  # any writing command starts it again
    new = wait_until(lambda: control_plane_pids(lab.name), 10, what="a new control plane")[0]

    assert new != old
    assert container_pids(lab, names) == before, "the new control plane adopted the containers"
    inodes = {netns_inode(lab.pod_netns(n)) for n in names}
    assert set(wrappers_in(inodes).values()) == {1}, "exactly one process per container"
    # And it is alive: a container killed now is restarted by the new control plane.
    os.kill(before[names[0]], signal.SIGKILL)
    wait_until(lambda: lab.pod(names[0])["status"]["containerStatuses"][0]["restartCount"] == 1, 5, what="restart after adoption")
    lab.nl("delete", "pod", *names)


def test_a_killed_container_shim_is_replaced_and_its_containers_still_restart(lab: Lab, wait_until):
    names = [f"shim-{i}" for i in range(3)]
    path = lab.write(pause_pods(names), "shim")
    lab.nl("apply", "-f", str(path))
    lab.wait_running(*names)
    shims = control_plane_pids(lab.name, b"netlab.kernel.spawner")
    assert len(shims) == 1, f"one container shim forks the containers: {shims}"
    before = container_pids(lab, names)
    assert {parent(pid) for pid in before.values()} == {shims[0]}, "the shim is their parent"

    os.kill(shims[0], signal.SIGKILL)
    wait_until(lambda: shims[0] not in control_plane_pids(lab.name, b"netlab.kernel.spawner"), 5, what="the shim gone")
    # Its containers run on, now the control plane's to reap; one that dies is restarted
    # (through a new shim), and nothing is left a zombie.
    os.kill(before[names[0]], signal.SIGKILL)
    wait_until(lambda: lab.pod(names[0])["status"]["containerStatuses"][0]["restartCount"] == 1, 5, what="restart without the old shim")
    assert container_pids(lab, names[1:]) == {n: before[n] for n in names[1:]}
    assert len(control_plane_pids(lab.name, b"netlab.kernel.spawner")) == 1, "a new shim"
    plane = control_plane(lab)
    wait_until(lambda: not [p for p in zombies() if parent(p) == plane], 5, what="the control plane reaps the orphans")
    lab.nl("delete", "pod", *names)


def zombies() -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                        found.append(int(entry))
            except (FileNotFoundError, ProcessLookupError):
                pass
    return found


def parent(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None


def test_apply_killed_at_random_points_never_leaves_a_second_copy(lab: Lab, wait_until):
    names = [f"kill-{i:02d}" for i in range(50)]
    path = lab.write(pause_pods(names), "killed")
    points = random.Random(11).sample([i / 100 for i in range(5, 150, 5)], 10)
    for delay in points:
        apply = subprocess.Popen(
            [sys.executable, "-m", "netlab", "apply", "--cluster", lab.name, "-f", str(path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            apply.wait(timeout=delay)  # the kill point, not a synchronisation
        except subprocess.TimeoutExpired:
            apply.kill()
        apply.wait()

    lab.nl("apply", "-f", str(path))
    lab.wait_running(*names, timeout=30)
    pods = {p["metadata"]["name"]: p for p in lab.get_json("pods", "-l", "set=pause")["items"]}
    assert sorted(pods) == names
    assert all(p["status"]["containerStatuses"][0]["restartCount"] == 0 for p in pods.values())
    inodes = {netns_inode(lab.pod_netns(n)) for n in names}
    counts = wrappers_in(inodes)
    assert len(counts) == len(names) and set(counts.values()) == {1}, f"copies per pod: {sorted(counts.values())}"
    lab.nl("delete", "pod", *names)


def test_two_applies_and_a_delete_at_once(lab: Lab):
    first = lab.write(pause_pods([f"one-{i}" for i in range(8)]), "one")
    second = lab.write(pause_pods([f"two-{i}" for i in range(8)]), "two")
    lab.apply(pause_pods(["doomed"]))
    argv = [sys.executable, "-m", "netlab"]
    runs = [
        subprocess.Popen([*argv, "apply", "--cluster", lab.name, "-f", str(first)], stdout=subprocess.PIPE, stderr=subprocess.PIPE),
        subprocess.Popen([*argv, "apply", "--cluster", lab.name, "-f", str(second)], stdout=subprocess.PIPE, stderr=subprocess.PIPE),
        subprocess.Popen([*argv, "delete", "--cluster", lab.name, "pod", "doomed"], stdout=subprocess.PIPE, stderr=subprocess.PIPE),
    ]
    for run in runs:
        out, err = run.communicate(timeout=60)
        assert run.returncode == 0, err.decode()
    names = [f"one-{i}" for i in range(8)] + [f"two-{i}" for i in range(8)]
    lab.wait_running(*names)
    listed = {p["metadata"]["name"] for p in lab.get_json("pods", "-l", "set=pause")["items"]}
    assert listed == set(names)
    lab.nl("delete", "pod", *names)


def test_a_command_queued_behind_cluster_delete_finds_the_lab_gone(fresh_lab: Lab, leftovers):
    lab = fresh_lab
    path = lab.write(pause_pods(["late"]), "late")
    argv = [sys.executable, "-m", "netlab"]
    delete = subprocess.Popen([*argv, "cluster", "delete", "--name", lab.name], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    apply = subprocess.Popen([*argv, "apply", "--cluster", lab.name, "-f", str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, delete_err = delete.communicate(timeout=60)
    _, apply_err = apply.communicate(timeout=60)
    assert delete.returncode == 0, delete_err.decode()
    if apply.returncode != 0:  # it waited for the delete: the lab is gone, and it says so
        assert b"does not exist" in apply_err
        assert leftovers(lab.name, lab.ranges) == []
    else:  # it ran first; the delete then removed it all
        assert leftovers(lab.name, lab.ranges) == []
    assert not Path(f"/run/netlab/controller/{lab.name}.pid").exists()


def test_a_control_plane_killed_mid_crash_loop_carries_on_where_it_was(lab: Lab, wait_until):
    never = lab.workdir / "never.ready"  # never created: the pod stays unready
    lab.apply(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: looping}\n"
        "spec:\n  containers:\n  - name: app\n    image: busybox\n    command: [sh, -c, 'exit 7']\n"
        "---\napiVersion: v1\nkind: Pod\nmetadata: {name: unready, labels: {app: unready}}\n"
        "spec:\n  containers:\n  - name: web\n    image: nginx\n    ports: [{containerPort: 80}]\n"
        f"    readinessProbe:\n      exec: {{command: [test, -e, {never}]}}\n      periodSeconds: 1\n"
        "---\napiVersion: v1\nkind: Service\nmetadata: {name: unready}\n"
        "spec:\n  selector: {app: unready}\n  ports: [{port: 80}]\n"
    )

    def restarts() -> int:
        return lab.pod("looping")["status"]["containerStatuses"][0]["restartCount"]

    wait_until(lambda: restarts() >= 1, 5, what="the first restart")
    before = restarts()
    os.kill(control_plane(lab), signal.SIGKILL)
    lab.nl("controller", "start")

    # The back-off is in the pod's status, not in the process that died: it goes on from there.
    assert restarts() >= before
    row = wait_until(lambda: (r := lab.nl("get", "pods", "looping").stdout.splitlines()[1].split())[2] == "CrashLoopBackOff" and r, 15, what="CrashLoopBackOff again")
    assert int(row[3]) >= before
    ip = lab.pod_ip("unready")
    node = lab.pod("unready")["spec"]["nodeName"]
    rules = lab.in_netns(lab.node_netns(node), "iptables-save", "-t", "nat").stdout
    assert ip not in rules, "an unready pod is no endpoint, before and after the restart"
    inodes = {netns_inode(lab.pod_netns(n)) for n in ("looping", "unready")}
    assert set(wrappers_in(inodes).values()) <= {1}, "never a second copy"
    lab.nl("delete", "svc", "unready")
    lab.nl("delete", "pod", "looping", "unready")



def test_apply_with_wait_false_returns_once_stored_and_the_lab_follows(lab: Lab, wait_until):
    path = lab.write(pause_pods(["nowait-a", "nowait-b"]), "nowait")
    out = lab.nl("apply", "--wait=false", "-f", str(path)).stdout
    assert out.splitlines() == ["pod/nowait-a created", "pod/nowait-b created"]
    lab.wait_running("nowait-a", "nowait-b")  # the control plane did it, no other command
    assert lab.nl("delete", "--wait=false", "pod", "nowait-a", "nowait-b").returncode == 0
    wait_until(lambda: not ({lab.pod_netns("nowait-a"), lab.pod_netns("nowait-b")} & lab.netns()), 10, what="the pods' namespaces gone")


def test_any_command_brings_a_killed_control_plane_back(lab: Lab, wait_until):
    old = control_plane(lab)
    os.kill(old, signal.SIGKILL)
    wait_until(lambda: old not in control_plane_pids(lab.name), 5, what="the old control plane gone")
    lab.nl("get", "pods")  # a read, not a write
    new = wait_until(lambda: control_plane_pids(lab.name), 10, what="a new control plane")[0]
    assert new != old
    wait_until(lambda: "running (pid" in lab.nl("controller", "status").stdout, 10, what="it answers")


def test_a_lab_deleted_while_its_control_plane_is_dead_leaves_nothing(fresh_lab: Lab, leftovers, wait_until):
    lab = fresh_lab
    old = control_plane(lab)
    os.kill(old, signal.SIGKILL)  # its pid file, socket and lock file stay behind
    wait_until(lambda: old not in control_plane_pids(lab.name), 5, what="the control plane gone")
    result = subprocess.run(
        [sys.executable, "-m", "netlab", "cluster", "delete", "--name", lab.name], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert leftovers(lab.name, lab.ranges) == []
    assert control_plane_pids(lab.name) == []  # delete did not start a new one just to stop it
