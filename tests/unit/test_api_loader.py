"""`load_manifests`: what `netlab apply -f` reads, and the one-line problems it reports."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

import pytest

from netlab.api import Namespace, Pod, Service, load_manifests, obj_key
from netlab.api.kinds import KINDS
from netlab.errors import InvalidInput

DATA = Path(__file__).parent / "data" / "api"

POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: pod-a
spec:
  containers:
    - name: web
      image: nginx
      ports: [{name: http, containerPort: 80}]
"""


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    """Run in a scratch directory so problems name files as a user would type them."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(name: str, text: str) -> str:
    Path(name).parent.mkdir(parents=True, exist_ok=True)
    Path(name).write_text(textwrap.dedent(text))
    return name


def problems(*sources: str, **kwargs) -> list[str]:
    with pytest.raises(InvalidInput) as info:
        load_manifests(list(sources), **kwargs)
    return info.value.problems


def one_problem(text: str, name: str = "m.yaml") -> str:
    [problem] = problems(write(name, text))
    return problem


# --- what loads -----------------------------------------------------------------------------


def test_the_quickstart_manifests_load_in_document_order():
    result = load_manifests([str(DATA / "manifests" / "quickstart.yaml")])
    assert [obj_key(o) for o in result.objects] == [
        ("Namespace", "", "demo"),
        ("Pod", "demo", "web-1"),
        ("Pod", "demo", "web-2"),
        ("Pod", "default", "client"),
        ("Service", "demo", "web"),
        ("Service", "demo", "web-nodeport"),
        ("Service", "demo", "web-headless"),
        ("Service", "default", "search"),
    ]
    assert result.warnings == ()
    web = result.objects[4]
    assert isinstance(web, Service)
    assert [(p.port, p.targetPort, p.protocol) for p in web.spec.ports] == [(80, "http", "TCP"), (53, 53, "UDP")]


def test_a_directory_loads_its_manifest_files_sorted(in_tmp):
    write("dir/b.yaml", POD.replace("pod-a", "pod-b"))
    write("dir/a.yml", POD)
    write("dir/c.json", '{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "c"}}')
    write("dir/notes.txt", "not a manifest")
    write("dir/sub/d.yaml", POD.replace("pod-a", "pod-d"))  # not recursive, like kubectl
    result = load_manifests(["dir"])
    assert [o.metadata.name for o in result.objects] == ["pod-a", "pod-b", "c"]


def test_stdin_is_read_for_dash():
    result = load_manifests(["-"], stdin=io.StringIO(POD))
    [pod] = result.objects
    assert isinstance(pod, Pod) and pod.metadata.namespace == "default"


def test_empty_documents_are_skipped():
    write("m.yaml", "---\n" + POD + "---\n---\n# only a comment\n")
    assert len(load_manifests(["m.yaml"]).objects) == 1


def test_a_list_kind_is_expanded():
    result = load_manifests([str(DATA / "manifests" / "list.json")], default_namespace="team-a")
    assert [obj_key(o) for o in result.objects] == [
        ("Pod", "team-a", "json-pod"),
        ("Service", "team-a", "json-svc"),
    ]


def test_namespace_comes_from_metadata_else_the_default():
    write("m.yaml", POD + "---\n" + POD.replace("name: pod-a", "name: pod-b\n  namespace: other"))
    result = load_manifests(["m.yaml"], default_namespace="mine")
    assert [o.metadata.namespace for o in result.objects] == ["mine", "other"]


def test_namespace_objects_have_no_namespace():
    write("m.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: team-a, namespace: x}\n")
    [ns] = load_manifests(["m.yaml"]).objects
    assert isinstance(ns, Namespace) and ns.metadata.namespace is None


def test_status_in_a_manifest_is_ignored():
    write("m.yaml", POD + "status: {podIP: 10.244.1.2, phase: Running}\n")
    [pod] = load_manifests(["m.yaml"]).objects
    assert "status" not in pod.to_dict()


# --- warnings -------------------------------------------------------------------------------


def test_a_daemonset_is_skipped_with_a_warning():
    write("m.yaml", "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: robot}\n---\n" + POD)
    result = load_manifests(["m.yaml"])
    assert [o.metadata.name for o in result.objects] == ["pod-a"]
    assert result.warnings == ("m.yaml: DaemonSet default/robot: kind DaemonSet is not modelled by netlab, skipped",)


def test_unknown_fields_are_accepted_with_a_warning():
    write("pod-a.yaml", POD + "      resources: {limits: {cpu: 100m}}\n      imagePullPolicy: Always\n")
    result = load_manifests(["pod-a.yaml"])
    assert result.warnings == (
        "pod-a.yaml: Pod default/pod-a: spec.containers[0].resources: not modelled by netlab, ignored",
        "pod-a.yaml: Pod default/pod-a: spec.containers[0].imagePullPolicy: not modelled by netlab, ignored",
    )


def test_env_field_ref_is_honoured_without_a_warning():
    write("m.yaml", POD + "      env: [{name: POD_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}]\n")
    assert load_manifests(["m.yaml"]).warnings == ()


def test_env_secret_key_ref_is_honoured_and_resource_field_ref_warned():
    write("m.yaml", POD + "      env: [{name: PW, valueFrom: {secretKeyRef: {name: s, key: k}}}]\n")
    assert load_manifests(["m.yaml"]).warnings == ()
    write("m.yaml", POD + "      env: [{name: CPU, valueFrom: {resourceFieldRef: {resource: limits.cpu}}}]\n")
    assert load_manifests(["m.yaml"]).warnings == (
        'm.yaml: Pod default/pod-a: spec.containers[0].env[0].valueFrom.resourceFieldRef: not supported by netlab '
        '(no resources), ignored: the variable is set to ""',
    )


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ("{name: X, valueFrom: {fieldRef: {fieldPath: status.phase}}}", 'spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: Unsupported value: "status.phase"'),
        ("{name: X, valueFrom: {fieldRef: {fieldPath: metadata.labels}}}", "use metadata.labels['KEY'] in env"),
        ("{name: X, value: a, valueFrom: {fieldRef: {fieldPath: metadata.name}}}", "may not be specified when `value` is not empty"),
        ("{name: X, valueFrom: {}}", "must specify one of"),
    ],
)
def test_bad_env_sources_are_refused(env, problem):
    write("m.yaml", POD + f"      env: [{env}]\n")
    with pytest.raises(InvalidInput) as err:
        load_manifests(["m.yaml"])
    assert problem in str(err.value)


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("  dnsPolicy: None\n", "spec.dnsConfig: Required value: must provide `dnsConfig` when `dnsPolicy` is None"),
        ("  dnsPolicy: None\n  dnsConfig: {searches: [a.b]}\n", "spec.dnsConfig.nameservers: Required value"),
        ("  dnsPolicy: Cluster\n", "spec.dnsPolicy"),
        ("  dnsConfig: {nameservers: [10.0.0.1, 10.0.0.2, 10.0.0.3, 10.0.0.4]}\n", "must not have more than 3 nameservers"),
        ("  dnsConfig: {searches: [Bad_Name]}\n", "spec.dnsConfig.searches[0]"),
    ],
)
def test_bad_dns_settings_are_refused(spec, problem):
    write("m.yaml", POD + spec)
    with pytest.raises(InvalidInput) as err:
        load_manifests(["m.yaml"])
    assert problem in str(err.value)


# --- one problem, one line ------------------------------------------------------------------


def test_invalid_yaml_names_line_and_column():
    assert one_problem("apiVersion: v1\nkind: Pod\nmetadata: {name: [a\n") == (
        "m.yaml: invalid YAML at line 4, column 1: did not find expected ',' or ']'"
    )


def test_duplicate_yaml_keys_are_invalid_yaml():
    assert one_problem("apiVersion: v1\nkind: Pod\nkind: Service\n") == (
        'm.yaml: invalid YAML at line 3, column 1: mapping key "kind" already defined'
    )


def test_invalid_json_names_line_and_column():
    assert one_problem('{"kind": "Pod",}', "m.json") == (
        "m.json: invalid JSON at line 1, column 16: Expecting property name enclosed in double quotes"
    )


def test_unknown_kind_that_is_not_kubernetes():
    assert one_problem("apiVersion: v1\nkind: Frobnicator\nmetadata: {name: x}\n") == (
        'm.yaml: Frobnicator x: kind: Unsupported value: "Frobnicator": supported values: '
        + ", ".join(f'"{k.kind}"' for k in KINDS if k.modelled) + ', "List"'
    )  # every kind of the table that apply takes, in the table's order


def test_a_cluster_config_is_not_a_manifest():
    assert one_problem("apiVersion: netlab.dev/v1alpha1\nkind: Cluster\nmetadata: {name: lab}\n") == (
        "m.yaml: Cluster lab: kind: a Cluster is netlab's cluster config, not a manifest; "
        "use `netlab cluster create --config m.yaml`"
    )


def test_wrong_field_type():
    assert one_problem(POD.replace("containerPort: 80", "containerPort: eighty")) == (
        'm.yaml: Pod default/pod-a: spec.containers[0].ports[0].containerPort: Invalid value: "eighty": must be an integer'
    )


def test_labels_must_be_a_map():
    assert one_problem(POD.replace("name: pod-a", "name: pod-a\n  labels: [a]")) == (
        'm.yaml: Pod default/pod-a: metadata.labels: Invalid value: ["a"]: must be a map'
    )


def test_bad_pod_name():
    problem = one_problem(POD.replace("name: pod-a", "name: Pod_A"))
    assert problem.startswith(
        'm.yaml: Pod default/Pod_A: metadata.name: Invalid value: "Pod_A": a lowercase RFC 1123 label must'
    )
    assert "\n" not in problem


def test_bad_namespace_name():
    problem = one_problem(POD.replace("name: pod-a", "name: pod-a\n  namespace: Team_A"))
    assert problem.startswith('m.yaml: Pod Team_A/pod-a: metadata.namespace: Invalid value: "Team_A": a lowercase RFC 1123')


@pytest.mark.parametrize("port", [0, 65536])
def test_ports_out_of_range(port):
    assert one_problem(POD.replace("containerPort: 80", f"containerPort: {port}")) == (
        f"m.yaml: Pod default/pod-a: spec.containers[0].ports[0].containerPort: Invalid value: {port}: "
        "must be between 1 and 65535, inclusive"
    )


def test_duplicate_port_names():
    text = POD.replace(
        "ports: [{name: http, containerPort: 80}]",
        "ports: [{name: http, containerPort: 80}, {name: http, containerPort: 8080}]",
    )
    assert one_problem(text) == 'm.yaml: Pod default/pod-a: spec.containers[0].ports[1].name: Duplicate value: "http"'


def test_named_target_port_with_bad_syntax():
    text = """\
    apiVersion: v1
    kind: Service
    metadata: {name: web}
    spec:
      ports: [{port: 80, targetPort: web_http}]
    """
    assert one_problem(text) == (
        'm.yaml: Service default/web: spec.ports[0].targetPort: Invalid value: "web_http": '
        "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"
    )


def test_cluster_ip_with_bad_syntax():
    text = """\
    apiVersion: v1
    kind: Service
    metadata: {name: web}
    spec:
      clusterIP: 10.96.0
      ports: [{port: 80}]
    """
    assert one_problem(text) == (
        'm.yaml: Service default/web: spec.clusterIP: Invalid value: "10.96.0": must be a valid IP '
        "address (e.g. 10.96.0.10 or fd00:10:96::a), or 'None' for a headless Service"
    )


def test_sctp_is_accepted_and_other_protocols_refused_with_the_three_names():
    [pod] = load_manifests([write("m.yaml", POD.replace("containerPort: 80", "containerPort: 80, protocol: SCTP"))]).objects
    assert pod.spec.containers[0].ports[0].protocol == "SCTP"
    assert one_problem(POD.replace("containerPort: 80", "containerPort: 80, protocol: ICMP")) == (
        'm.yaml: Pod default/pod-a: spec.containers[0].ports[0].protocol: Unsupported value: "ICMP": '
        'supported values: "TCP", "UDP", "SCTP"'
    )


def test_a_document_that_is_not_an_object():
    assert one_problem("- a\n- b\n") == "m.yaml: document 1: expected an object with apiVersion and kind, got list"


def test_missing_kind_and_missing_name_use_the_document_number():
    write("m.yaml", POD + "---\napiVersion: v1\nmetadata: {name: x}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {}\n")
    assert problems("m.yaml") == [
        "m.yaml: document 2: kind: Required value",
        "m.yaml: Namespace in document 3: metadata.name: Required value",
    ]


def test_stdin_problems_are_named_stdin():
    with pytest.raises(InvalidInput) as info:
        load_manifests(["-"], stdin=io.StringIO(POD.replace("containerPort: 80", "containerPort: 0")))
    assert info.value.problems[0].startswith("<stdin>: Pod default/pod-a: spec.containers[0].ports[0].containerPort:")


def test_a_missing_file():
    assert problems("nope.yaml") == ["nope.yaml: no such file or directory"]


def test_namespace_mismatch_with_an_explicit_namespace():
    write("m.yaml", POD.replace("name: pod-a", "name: pod-a\n  namespace: x"))
    assert problems("m.yaml", default_namespace="y", explicit_namespace=True) == [
        'm.yaml: Pod x/pod-a: metadata.namespace: the namespace from the provided object "x" does not '
        "match the namespace \"y\". You must pass '--namespace=x' to perform this operation."
    ]
    # Without -n the object simply goes to its own namespace.
    [pod] = load_manifests(["m.yaml"], default_namespace="y").objects
    assert pod.metadata.namespace == "x"


def test_duplicate_objects_in_one_invocation():
    write("a.yaml", POD)
    write("b.yaml", POD)
    assert problems("a.yaml", "b.yaml") == [
        'b.yaml: Pod default/pod-a: metadata.name: Duplicate value: "pod-a": also defined in a.yaml document 1'
    ]


def test_the_same_name_in_two_namespaces_is_not_a_duplicate():
    write("m.yaml", POD + "---\n" + POD.replace("name: pod-a", "name: pod-a\n  namespace: other"))
    assert len(load_manifests(["m.yaml"]).objects) == 2


def test_every_problem_in_every_file_is_reported_at_once():
    write("a.yaml", POD.replace("containerPort: 80", "containerPort: 0") + "---\nkind: Nope\napiVersion: v1\nmetadata: {name: n}\n")
    write("b.yaml", "a: [\n")
    found = problems("a.yaml", "b.yaml", "c.yaml")
    assert len(found) == 4
    assert all("\n" not in line for line in found)
    assert [line.split(":")[0] for line in found] == ["a.yaml", "a.yaml", "b.yaml", "c.yaml"]


def test_an_invalid_default_namespace():
    with pytest.raises(InvalidInput, match='namespace "Bad"'):
        load_manifests(["m.yaml"], default_namespace="Bad")


def test_delete_references_need_only_kind_and_name():
    from netlab.api.loader import load_references

    write("m.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: team}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: team}\n")
    assert load_references(["m.yaml"], "default") == [("Pod", "default", "a"), ("Deployment", "team", "d"), ("Namespace", "", "team")]
    write("bad.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {}\n")
    with pytest.raises(InvalidInput, match="metadata.name"):
        load_references(["bad.yaml"])
