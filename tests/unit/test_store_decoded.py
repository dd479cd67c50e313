"""The store's decoded-object cache (a long-lived reader's): reads stay the store's current
content, unchanged rows are not decoded again, and a shared object changed in place is caught."""

from __future__ import annotations

import pytest

from netlab.apiserver.store import Decoded, Store


def _service(name: str, port: int = 80) -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": {"ports": [{"port": port}]}}


@pytest.fixture
def store(tmp_path):
    s = Store(str(tmp_path / "state.db"))
    for name in ("a", "b", "c"):
        s.put("Service", "default", name, _service(name))
    yield s
    s.close()


def test_unchanged_objects_are_reused_across_stores_and_changes_are_read(store, tmp_path):
    decoded = Decoded()
    first = Store(store.path, decoded)
    before = {o.name: o for o in first.list("Service")}
    first.close()

    store.put("Service", "default", "b", _service("b", 8080))
    store.set_status("Service", "default", "c", {"clusterIP": "10.96.0.5"})
    second = Store(store.path, decoded)
    after = {o.name: o for o in second.list("Service")}

    assert after["a"] is before["a"]  # unchanged: not decoded again
    assert after["b"].manifest["spec"]["ports"] == [{"port": 8080}]
    assert after["c"].status == {"clusterIP": "10.96.0.5"}
    assert second.get("Service", "default", "a") is before["a"]
    second.close()


def test_a_deleted_and_recreated_object_is_a_new_one(store):
    decoded = Decoded()
    reader = Store(store.path, decoded)
    old = reader.get("Service", "default", "a")
    store.delete("Service", "default", "a")
    assert [o.name for o in reader.list("Service")] == ["b", "c"]
    store.put("Service", "default", "a", _service("a"))
    new = reader.get("Service", "default", "a")
    assert new is not old and new.uid != old.uid
    reader.close()


def test_a_shared_object_changed_in_place_fails_loudly(store, monkeypatch):
    monkeypatch.setenv("NETLAB_CHECK_SHARED", "1")
    decoded = Decoded()
    reader = Store(store.path, decoded)
    reader.list("Service")[0].status["clusterIP"] = "10.96.0.9"
    with pytest.raises(AssertionError, match="changed in place"):
        reader.list("Service")
    reader.close()
