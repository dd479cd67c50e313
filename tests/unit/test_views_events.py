"""`netlab events`: kubectl's columns; node events show in the default namespace."""

from netlab.views import events
from netlab.apiserver.store import Event

NOW = 1_000_000.0
SCHEDULED = Event(NOW - 30, "Pod", "default", "web-a", "Normal", "Scheduled", "Successfully assigned default/web-a to node-a")
SYNCED = Event(NOW - 5, "Node", "", "node-a", "Normal", "RulesSynced", "iptables-restore: 3 service ports in 4 ms")
DNS = Event(NOW - 90, "Pod", "kube-system", "coredns", "Warning", "Unhealthy", "Readiness probe failed")


def test_rows_have_kubectl_columns_in_the_chosen_namespace():
    rows = events.rows([DNS, SCHEDULED, SYNCED], "default", NOW)
    assert events.headers(False) == ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert rows == [
        ["30s", "Normal", "Scheduled", "pod/web-a", "Successfully assigned default/web-a to node-a"],
        ["5s", "Normal", "RulesSynced", "node/node-a", "iptables-restore: 3 service ports in 4 ms"],
    ]


def test_all_namespaces_adds_the_namespace_column():
    rows = events.rows([DNS, SYNCED], None, NOW)
    assert events.headers(True)[0] == "NAMESPACE"
    assert [r[0] for r in rows] == ["kube-system", "default"]
    assert rows[0][2:4] == ["Warning", "Unhealthy"]


def test_node_events_are_not_in_other_namespaces():
    assert events.rows([SYNCED], "kube-system", NOW) == []
