"""The kubelet's pass, in the parts that need no kernel: when the publish may wait for new pods
(`sandboxes.only_new`), and the pod workers' launches answered in the order they were sent."""

from __future__ import annotations

import threading

import pytest

from netlab import naming
from netlab.api.addressing import from_config
from netlab.api.cluster import default_cluster
from netlab.apiserver.state import Lab
from netlab.apiserver.store import Store
from netlab.kernel import procs, runtime
from netlab.kubelet import sandboxes
from netlab.kubelet.sync import _Background


@pytest.fixture
def lab(tmp_path):
    config = default_cluster("unit")
    store = Store(str(tmp_path / "state.db"))
    yield Lab(config, from_config(config), store, str(tmp_path))
    store.close()


def pod(lab: Lab, name: str, node: str | None = "node-a", sandbox: bool = False) -> None:
    lab.store.put("Pod", "default", name, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": {"containers": [{"name": "c", "image": "pause"}]}})
    status: dict = {"nodeName": node} if node else {}
    if sandbox:
        uid = lab.store.get("Pod", "default", name).uid
        status["sandbox"] = {"uid": uid, "netns": naming.pod_netns("unit", "default", name)}
    lab.store.set_status("Pod", "default", name, status)


def kernel_holds(monkeypatch, *names: str) -> None:
    monkeypatch.setattr(sandboxes, "_pod_netns_names", lambda lab: {naming.pod_netns("unit", "default", n) for n in names})


def test_the_publish_waits_only_when_pods_come_and_none_goes(lab, monkeypatch):
    pod(lab, "old", sandbox=True)
    pod(lab, "new")
    pod(lab, "unscheduled", node=None)
    kernel_holds(monkeypatch, "old")
    assert sandboxes.only_new(lab, frozenset())

    kernel_holds(monkeypatch, "old", "deleted")  # a pod that went: its traffic must leave first
    assert not sandboxes.only_new(lab, frozenset())

    kernel_holds(monkeypatch, "old")
    lab.store.set_status("Pod", "default", "new", {"nodeName": "node-a", "sandbox": {"uid": "an earlier pod's"}})
    kernel_holds(monkeypatch, "old", "new")  # a pod of the same name replaced: the old one goes first
    assert not sandboxes.only_new(lab, frozenset())


def test_nothing_new_means_the_publish_runs_first(lab, monkeypatch):
    pod(lab, "old", sandbox=True)
    kernel_holds(monkeypatch, "old")
    assert not sandboxes.only_new(lab, frozenset())
    pod(lab, "on-a-failed-node", node="node-b")
    assert not sandboxes.only_new(lab, frozenset({"node-b"}))


def test_pod_workers_answer_in_the_order_the_launches_were_sent():
    seen: list[list[str]] = []
    gate = threading.Event()

    def launch(specs):
        gate.wait(5)  # the first batch waits, so later submissions pile up into one batch
        seen.append([s.argv[0] for s in specs])
        return iter(procs.ProcessRef(int(s.argv[0][1:]), 0) for s in specs)

    workers = _Background(launch)
    spec = lambda n: runtime.Launch(argv=(f"c{n}",), env={}, netns="", utsns="", binds=(), log_path="", exit_path="")  # noqa: E731
    workers.submit([spec(1)])
    workers.submit([spec(2), spec(3)])
    workers.submit([])
    workers.submit([spec(4)])
    gate.set()
    assert workers.outcomes() == [procs.ProcessRef(n, 0) for n in (1, 2, 3, 4)]
    assert sum(seen, []) == ["c1", "c2", "c3", "c4"]


def test_a_failing_runtime_is_raised_to_the_pass():
    def launch(specs):
        raise OSError("the shim and the fallback both failed")

    workers = _Background(launch)
    workers.submit([runtime.Launch(argv=("c",), env={}, netns="", utsns="", binds=(), log_path="", exit_path="")])
    with pytest.raises(OSError, match="both failed"):
        workers.outcomes()
