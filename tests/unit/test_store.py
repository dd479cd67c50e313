"""The store: kubectl's verbs, transactions, status, bookkeeping; the models read from it."""

import pytest

from netlab.apiserver.state import service_model
from netlab.apiserver.store import Compacted, Store


@pytest.fixture
def store(tmp_path):
    s = Store(str(tmp_path / "state.db"))
    yield s
    s.close()


POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a"}, "spec": {"containers": [{"name": "c", "image": "x"}]}}


def test_put_reports_created_unchanged_configured(store):
    assert store.put("Pod", "default", "a", POD) == "created"
    assert store.put("Pod", "default", "a", dict(POD)) == "unchanged"
    changed = {**POD, "metadata": {"name": "a", "labels": {"app": "x"}}}
    assert store.put("Pod", "default", "a", changed) == "configured"
    assert store.get("Pod", "default", "a").manifest == changed


def test_uid_survives_updates_and_status_is_separate(store):
    store.put("Pod", "default", "a", POD)
    uid = store.get("Pod", "default", "a").uid
    store.set_status("Pod", "default", "a", {"podIP": "10.244.1.2"})
    store.put("Pod", "default", "a", {**POD, "metadata": {"name": "a", "labels": {"x": "y"}}})
    obj = store.get("Pod", "default", "a")
    assert obj.uid == uid and obj.status == {"podIP": "10.244.1.2"}


def test_a_failed_transaction_writes_nothing(store):
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.put("Pod", "default", "a", POD)
            with store.transaction():  # nested blocks join the outer one
                store.put("Pod", "default", "b", POD)
            raise RuntimeError("boom")
    assert store.list("Pod") == []


def test_list_delete_meta_events(store):
    store.put("Pod", "default", "b", POD)
    store.put("Pod", "kube-system", "a", POD)
    assert [o.name for o in store.list("Pod")] == ["b", "a"]  # by namespace, then name
    assert [o.name for o in store.list("Pod", "default")] == ["b"]
    assert store.delete("Pod", "default", "b") and not store.delete("Pod", "default", "b")
    store.set_meta("k", {"a": 1})
    assert store.get_meta("k") == {"a": 1} and store.get_meta("missing", 7) == 7
    store.add_event("Pod", "default", "b", "Scheduled", "to node-a")
    (eid, event), = store.events()
    assert event.reason == "Scheduled" and store.events(eid) == []


def test_every_change_of_a_desired_object_takes_the_next_revision(store):
    assert store.revision() == 0
    store.put("Pod", "default", "a", {"spec": 1})
    store.put("Pod", "default", "b", {"spec": 1})
    assert store.revision() == 2 and store.get("Pod", "default", "a").revision == 1
    store.put("Pod", "default", "a", {"spec": 1})  # unchanged: no new revision
    store.set_status("Pod", "default", "a", {"podIP": "10.0.0.1"})  # status is not the desired state
    assert store.revision() == 2
    store.put("Pod", "default", "a", {"spec": 2})
    assert store.get("Pod", "default", "a").revision == 3
    assert store.delete("Pod", "default", "b") and store.revision() == 4
    assert not store.delete("Pod", "default", "b") and store.revision() == 4
    store.set_observed_revision(4)
    assert store.observed_revision() == 4


def test_a_watcher_sees_every_change_after_its_revision_in_order(store):
    store.put("Pod", "default", "a", {"spec": 1})
    store.put("Service", "default", "web", {"spec": 1})
    seen = store.revision()
    store.put("Pod", "default", "a", {"spec": 2})
    store.put("Pod", "default", "a", {"spec": 2})  # unchanged: nothing to see
    store.delete("Service", "default", "web")
    store.set_status("Pod", "default", "a", {"podIP": "10.0.0.1"})  # status is not watched
    assert [(c.revision, c.type, c.kind, c.name) for c in store.watch(seen)] == [
        (3, "PUT", "Pod", "a"),
        (4, "DELETE", "Service", "web"),
    ]
    assert store.watch(store.revision()) == []


def test_a_rolled_back_write_leaves_no_change_to_watch(store):
    store.put("Pod", "default", "a", {"spec": 1})
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.put("Pod", "default", "b", {"spec": 1})
            raise RuntimeError("boom")
    assert [c.name for c in store.watch(0)] == ["a"]


def test_compacted_history_tells_the_watcher_to_list_again(store):
    for spec in range(5):
        store.put("Pod", "default", "a", {"spec": spec})
    store.compact(3)
    assert [c.revision for c in store.watch(3)] == [4, 5]
    with pytest.raises(Compacted) as raised:
        store.watch(2)
    assert raised.value.compacted == 3


def test_a_store_made_before_the_history_was_kept_starts_compacted(tmp_path):
    path = str(tmp_path / "state.db")
    old = Store(path)
    old.put("Pod", "default", "a", {"spec": 1})
    old._db.execute("DROP TABLE changes")  # as a lab made by an older netlab has it
    old.close()
    store = Store(path)
    try:
        with pytest.raises(Compacted):
            store.watch(0)
        store.put("Pod", "default", "a", {"spec": 2})
        assert [c.revision for c in store.watch(1)] == [2]
    finally:
        store.close()


# --- parsed models: one parse per stored version -------------------------------------------------


def service(port: int) -> dict:
    return {"metadata": {"name": "web", "namespace": "default"}, "spec": {"ports": [{"port": port}]}}


def test_a_stored_version_is_parsed_once_and_a_new_revision_again(store):
    store.put("Service", "default", "web", service(80))
    first = service_model(store.get("Service", "default", "web"))
    store.set_status("Service", "default", "web", {"clusterIP": "10.96.0.20"})  # not the manifest
    assert service_model(store.get("Service", "default", "web")) is first
    store.put("Service", "default", "web", service(8080))
    assert service_model(store.get("Service", "default", "web")).spec.ports[0].port == 8080


def test_a_revision_handed_out_again_after_a_rollback_is_not_mistaken_for_the_old_one(store):
    store.put("Service", "default", "web", service(80))
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.put("Service", "default", "web", service(81))
            assert service_model(store.get("Service", "default", "web")).spec.ports[0].port == 81
            raise RuntimeError("boom")
    store.put("Service", "default", "web", service(82))  # the same uid and revision as 81 had
    assert service_model(store.get("Service", "default", "web")).spec.ports[0].port == 82
