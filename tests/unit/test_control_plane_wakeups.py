"""When the control plane wakes: container exits, due probes, back-off restarts (no root)."""

from __future__ import annotations

import os

import pytest

from netlab.apiserver.store import StoredObject
from netlab.kernel import procs
from netlab.kubelet.wakeups import wakeups


def pod(tmp_path, containers: list[dict], restart_policy: str = "Always", probe: dict | None = None, node: str = "node-a") -> StoredObject:
    container = {"name": "app", "image": "busybox", "command": ["true"]}
    if probe is not None:
        container["readinessProbe"] = probe
    manifest = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "default"},
        "spec": {"containers": [container], "restartPolicy": restart_policy},
    }
    status = {"sandbox": {"uid": "u1", "netns": "x"}, "nodeName": node, "dir": str(tmp_path), "containers": containers}
    return StoredObject("Pod", "default", "p", "u1", 0.0, manifest, status)


def me() -> procs.ProcessRef:
    """This test process: a container record of a process that certainly runs."""
    return procs.ProcessRef(os.getpid(), procs.start_time(os.getpid()))


def dead(tmp_path, code: int) -> dict:
    (tmp_path / "app.exit").write_text(f"{code}\n")
    return {"name": "app", "pid": 2**22 + 1, "procStart": 1, "startedAt": 50.0}


def test_a_running_container_is_watched_and_nothing_is_due(tmp_path):
    ref = me()
    plan = wakeups([pod(tmp_path, [{"name": "app", "pid": ref.pid, "procStart": ref.start_time, "startedAt": 100.0}])])
    assert plan.processes == [ref]
    assert plan.at is None


def test_a_readiness_probe_is_due_after_its_delay_then_every_period(tmp_path):
    ref = me()
    probe = {"exec": {"command": ["true"]}, "initialDelaySeconds": 5, "periodSeconds": 10}
    record = {"name": "app", "pid": ref.pid, "procStart": ref.start_time, "startedAt": 100.0, "readiness": {"ok": False}}
    assert wakeups([pod(tmp_path, [record], probe=probe)]).at == 105.0
    record["readiness"] = {"ok": True, "last": 107.0}
    assert wakeups([pod(tmp_path, [record], probe=probe)]).at == 117.0


def test_an_exit_not_yet_observed_is_due_at_once(tmp_path):
    plan = wakeups([pod(tmp_path, [dead(tmp_path, 1)])])
    assert plan.at == 0.0 and plan.processes == []


@pytest.mark.parametrize(
    ("policy", "code", "restarts", "due"),
    [
        ("Always", 0, 0, 60.0),  # the first restart at once
        ("Always", 1, 1, 70.0),  # then CrashLoopBackOff: 10 s
        ("Always", 1, 3, 100.0),  # 40 s
        ("OnFailure", 1, 2, 80.0),
        ("OnFailure", 0, 0, None),  # completed: nothing to do, ever
        ("Never", 1, 0, None),
    ],
)
def test_a_restart_is_due_when_its_back_off_ends(tmp_path, policy, code, restarts, due):
    record = {**dead(tmp_path, code), "finishedAt": 60.0, "restartCount": restarts}
    assert wakeups([pod(tmp_path, [record], restart_policy=policy)]).at == due


def test_pods_on_a_failed_node_and_without_sandbox_are_left_alone(tmp_path):
    record = {**dead(tmp_path, 1), "finishedAt": 60.0}
    assert wakeups([pod(tmp_path, [record], node="node-b")], frozenset({"node-b"})).at is None
    stale = pod(tmp_path, [record])
    stale.status["sandbox"]["uid"] = "an older pod of the same name"
    assert wakeups([stale]).at is None


def test_the_holder_of_a_container_lock_is_read_from_proc_locks():
    ref = me()
    locks = (
        f"1: POSIX  ADVISORY  WRITE {ref.pid} fe:00:2146773 0 EOF\n"
        "1: -> POSIX  ADVISORY  WRITE 99 fe:00:2146773 0 EOF\n"
        f"2: FLOCK  ADVISORY  WRITE {ref.pid} fe:00:77 0 EOF\n"
    )
    assert procs._holder(locks, 0xFE, 0, 2146773) == ref
    assert procs._holder(locks, 0xFE, 0, 77) is None  # a flock, not a wrapper's POSIX lock
    assert procs._holder(locks, 0xFE, 1, 2146773) is None
