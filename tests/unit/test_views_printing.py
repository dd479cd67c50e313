"""kubectl get's printers (pure): JSONPath templates, custom columns, --sort-by, labels,
field selectors and the resource arguments."""

from __future__ import annotations

import pytest

from netlab.api.kinds import lookup
from netlab.errors import InvalidInput
from netlab.views import jsonpath, listing, printing


def pod(name, ip=None, phase="Running", labels=None, node="node-a", restarts=0):
    doc = {
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "labels": labels or {}},
        "spec": {"nodeName": node, "containers": [{"name": "c", "image": "busybox"}]},
        "status": {"phase": phase, "containerStatuses": [{"name": "c", "restartCount": restarts, "ready": True}],
                   "conditions": [{"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": "True" if phase == "Running" else "False"}]},
    }  # fmt: skip
    if ip:
        doc["status"]["podIP"] = ip
    return doc


LIST = {"kind": "List", "items": [pod("web-1", "10.244.1.5", labels={"app": "web"}, restarts=3),
                                  pod("db", "10.244.2.7", phase="Pending", labels={"app": "db"}, node="node-b")]}  # fmt: skip


# --- JSONPath: the kubectl docs' own examples ------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "want"),
    [
        ("{.kind}", "List"),
        ("{.items[*].metadata.name}", "web-1 db"),
        ("{.items[0].metadata.name}", "web-1"),
        ("{.items[-1].metadata.name}", "db"),
        ("{.items[0:1].metadata.name}", "web-1"),
        ("{$.items[1].status.podIP}", "10.244.2.7"),
        ("{..podIP}", "10.244.1.5 10.244.2.7"),
        ("{.items[?(@.status.phase==\"Pending\")].metadata.name}", "db"),
        ("{.items[?(@.status.phase!='Pending')].metadata.name}", "web-1"),
        ("{.items[*].status.conditions[?(@.type==\"Ready\")].status}", "True False"),
        ("{.items[?(@.status.containerStatuses[0].restartCount>2)].metadata.name}", "web-1"),
        ("{.items[?(@.status.podIP)].metadata.name}", "web-1 db"),
        ("{.items[0].metadata.labels}", '{"app":"web"}'),
        ("{.items[0].metadata['name','namespace']}", "web-1 default"),
        ("{.items[*].metadata.missing}", ""),
        ("{range .items[*]}{.metadata.name}{\"\\t\"}{.status.podIP}{\"\\n\"}{end}", "web-1\t10.244.1.5\ndb\t10.244.2.7\n"),
        ("{range .items[*]}[{.metadata.name}]{end}", "[web-1][db]"),
        ("names: {.items[*].metadata.name}!", "names: web-1 db!"),
        ("{.items[0].spec.containers[0].image}{'\\n'}", "busybox\n"),
        ("{.items[0].metadata.labels.app}", "web"),
    ],
)
def test_jsonpath(template, want):
    assert jsonpath.execute(template, LIST) == want


def test_jsonpath_keys_with_dots_escape_them():
    doc = {"metadata": {"labels": {"app.kubernetes.io/name": "web"}}}
    assert jsonpath.execute(r"{.metadata.labels.app\.kubernetes\.io/name}", doc) == "web"
    assert jsonpath.execute("{.metadata.labels['app.kubernetes.io/name']}", doc) == "web"


@pytest.mark.parametrize("template", ["{.items[*", "{range .items[*]}{.x}", "{end}", "{.items[a:b]}", "{.x"])
def test_jsonpath_errors(template):
    with pytest.raises(jsonpath.JSONPathError):
        jsonpath.execute(template, LIST)


@pytest.mark.parametrize(("given", "want"), [(".a.b", "{.a.b}"), ("a.b", "{.a.b}"), ("{.a}", "{.a}"), ("{a}", "{.a}")])
def test_relaxed_expressions(given, want):
    assert jsonpath.relaxed(given) == want


# --- -o ------------------------------------------------------------------------------------------


def test_output_formats():
    assert printing.parse_output(None).kind == "table"
    assert printing.parse_output("jsonpath={.a}") == printing.OutputFormat("jsonpath", "{.a}")
    assert printing.parse_output("custom-columns=A:.a") == printing.OutputFormat("custom-columns", "A:.a")
    with pytest.raises(InvalidInput, match="allowed formats are"):
        printing.parse_output("toml")
    with pytest.raises(InvalidInput, match="no jsonpath template"):
        printing.parse_output("jsonpath=")


def test_custom_columns_join_several_values_and_say_none():
    headers, rows = printing.custom_column_rows("NAME:.metadata.name,IP:status.podIP,C:.spec.containers[*].name,X:.nope", LIST["items"])
    assert headers == ["NAME", "IP", "C", "X"]
    assert rows == [["web-1", "10.244.1.5", "c", "<none>"], ["db", "10.244.2.7", "c", "<none>"]]


def test_custom_columns_spec_errors():
    with pytest.raises(InvalidInput, match="expected <header>:<json-path-expr>"):
        printing.parse_custom_columns("NAME")


def test_sort_by_numbers_by_value_and_missing_first():
    docs = [pod("a", restarts=10), pod("b", restarts=9), {"metadata": {"name": "c"}}]
    key = printing.sort_key("{.status.containerStatuses[0].restartCount}")
    assert [d["metadata"]["name"] for d in sorted(docs, key=key)] == ["c", "b", "a"]
    key = printing.sort_key(".metadata.name")
    assert [d["metadata"]["name"] for d in sorted(docs[::-1], key=key)] == ["a", "b", "c"]


def test_labels_text_and_headers():
    assert printing.labels_text({"tier": "front", "app": "web"}) == "app=web,tier=front"
    assert printing.labels_text({}) == "<none>"
    keys = printing.label_columns(["app,tier", "app.kubernetes.io/name"])
    assert keys == ["app", "tier", "app.kubernetes.io/name"]
    assert printing.label_headers(keys) == ["APP", "TIER", "NAME"]


# --- --field-selector ----------------------------------------------------------------------------


def test_field_selectors_select_like_the_apiserver():
    reqs = printing.parse_field_selector("status.phase=Running,spec.nodeName!=node-b")
    assert [d["metadata"]["name"] for d in LIST["items"] if printing.fields_match(d, reqs)] == ["web-1"]
    assert printing.fields_match(LIST["items"][0], printing.parse_field_selector("spec.hostNetwork=false"))
    assert printing.fields_match(LIST["items"][1], printing.parse_field_selector("metadata.name==db"))


def test_unsupported_field_labels_are_refused():
    with pytest.raises(InvalidInput, match="field label not supported: spec.containers"):
        printing.check_field_selector("Pod", printing.parse_field_selector("spec.containers=x"))
    with pytest.raises(InvalidInput, match="field label not supported: status.phase"):
        printing.check_field_selector("Deployment", printing.parse_field_selector("status.phase=x"))


# --- resource arguments ----------------------------------------------------------------------------


def known(text):
    info = lookup(text)
    return (info, None) if info else None


def test_resource_arguments_read_as_kubectl_reads_them():
    reqs = listing.parse_requests(["pods,svc", "web"], known)
    assert [(r.kind.kind, r.names) for r in reqs] == [("Pod", ("web",)), ("Service", ("web",))]
    reqs = listing.parse_requests(["all"], known)
    assert [r.kind.kind for r in reqs] == list(listing.ALL)
    reqs = listing.parse_requests(["po/a", "deploy/b"], known)
    assert [(r.kind.kind, r.names) for r in reqs] == [("Pod", ("a",)), ("Deployment", ("b",))]


def test_resource_argument_errors():
    with pytest.raises(InvalidInput, match='resource type "frobs"'):
        listing.parse_requests(["frobs"], known)
    with pytest.raises(InvalidInput, match="no need to specify a resource type"):
        listing.parse_requests(["pod", "pod/a"], known)
