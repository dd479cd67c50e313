"""CoreDNS's records snapshot as the reconcile publishes it: the same text as ever, written only
when the records changed, and encoded once for records equal to the last ones."""

from __future__ import annotations

import dataclasses
import json
import os

import pytest

from netlab.api.addressing import from_config
from netlab.api.cluster import default_cluster
from netlab.apiserver.state import Lab
from netlab.apiserver.store import Store
from netlab.controllers.endpoints import service_endpoints
from netlab.dns import records as snapshot
from netlab.dns.publish import publish
from netlab.dns.records import EndpointRecord, PodRecord, PortRecord, Records, ServiceRecord, read_records


def some_records(web_ip: str = "10.96.0.20") -> Records:
    return Records(
        domain="cluster.local",
        services=(
            ServiceRecord(
                "default", "web", "ClusterIP", web_ip, None, (PortRecord("http", 80, "TCP"),),
                (EndpointRecord("10.244.1.2", True, pod="default/web-1"), EndpointRecord("10.244.2.2", False)),
            ),
            ServiceRecord("default", "db", "ClusterIP", None, None, (), (EndpointRecord("10.244.1.3", True, "db-0"),)),
            ServiceRecord("default", "ext", "ExternalName", None, "example.org", (), (), publish_not_ready=True),
        ),
        pods=(PodRecord("default", "db-0", "10.244.1.3", "db-0", "db"),),
        namespaces=("default", "kube-system"),
        generation=3,
    )


def test_the_snapshot_text_is_what_dataclasses_asdict_gave():
    records = some_records()
    assert records.to_json() == json.dumps(dataclasses.asdict(records), sort_keys=True, separators=(",", ":"))


def test_records_equal_to_the_last_ones_are_not_encoded_again():
    snapshot._json_text.cache_clear()
    text = some_records().to_json()
    assert some_records().to_json() == text  # equal records, built again: the kept text
    assert snapshot._json_text.cache_info().misses == 1
    moved = some_records(web_ip="10.96.0.99").to_json()
    assert snapshot._json_text.cache_info().misses == 2 and "10.96.0.99" in moved


@pytest.fixture
def lab(tmp_path):
    config = default_cluster("unit")
    store = Store(str(tmp_path / "state.db"))
    os.makedirs(tmp_path / "dns")
    yield Lab(config, from_config(config), store, str(tmp_path))
    store.close()


def put_service(lab: Lab, name: str, cluster_ip: str) -> None:
    spec = {"ports": [{"port": 80}], "selector": {"app": name}}
    lab.store.put("Service", "default", name, {"metadata": {"name": name, "namespace": "default"}, "spec": spec})
    lab.store.set_status("Service", "default", name, {"clusterIP": cluster_ip})


def test_the_file_is_replaced_only_when_the_records_changed(lab):
    put_service(lab, "web", "10.96.0.20")
    publish(lab, service_endpoints(lab, []), [])
    written = os.stat(lab.dns_records)
    publish(lab, service_endpoints(lab, []), [])
    assert os.stat(lab.dns_records).st_ino == written.st_ino  # equal records: left alone
    put_service(lab, "api", "10.96.0.21")
    publish(lab, service_endpoints(lab, []), [])
    assert os.stat(lab.dns_records).st_ino != written.st_ino  # replaced atomically
    assert [s.name for s in read_records(lab.dns_records).services] == ["api", "web"]
