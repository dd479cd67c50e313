"""ServiceAccounts and RBAC objects: validated as the apiserver validates them, and described
as kubectl describes them (the PolicyRule table of the "Debugging DNS Resolution" task)."""

from __future__ import annotations

import pytest

from netlab.api import load_manifests
from netlab.errors import InvalidInput
from netlab.lab.addons import coredns_rbac
from netlab.views.rbac import policy_rows, subjects_strings, tabbed


def problems(text: str, tmp_path) -> list[str]:
    path = tmp_path / "rbac.yaml"
    path.write_text(text)
    with pytest.raises(InvalidInput) as exc:
        load_manifests([str(path)])
    return [p.split(": ", 2)[2] for p in exc.value.problems]


def test_a_rule_needs_verbs_and_groups_with_resources_or_urls(tmp_path):
    found = problems(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: r}\nrules:\n"
        "- nonResourceURLs: [/healthz]\n  verbs: [get]\n- apiGroups: ['']\n", tmp_path,
    )
    assert found == [
        'rules[0].nonResourceURLs: Invalid value: ["/healthz"]: namespaced rules cannot apply to non-resource URLs',
        "rules[1].verbs: Required value: verbs must contain at least one value",
        "rules[1].resources: Required value: resource rules must supply at least one resource",
    ]


def test_a_cluster_role_binding_refers_to_a_cluster_role_and_namespaced_accounts(tmp_path):
    found = problems(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: b}\n"
        "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: view}\n"
        "subjects:\n- {kind: ServiceAccount, name: app}\n- {kind: Robot, name: x}\n- {kind: User, name: jane}\n", tmp_path,
    )
    assert found == [
        'roleRef.kind: Unsupported value: "Role": supported values: "ClusterRole"',
        "subjects[0].namespace: Required value",
        'subjects[1].kind: Unsupported value: "Robot": supported values: "ServiceAccount", "User", "Group"',
    ]  # a User without apiGroup gets rbac.authorization.k8s.io, as v1 defaults it


def test_rbac_names_are_path_segments_and_the_warning_is_said_once(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: app}\n---\n"
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: 'system:coredns'}\n"
        "rules: [{apiGroups: [''], resources: [pods], verbs: [list]}]\n---\n"
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: rb}\n"
        "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: 'system:coredns'}\n"
        "subjects: [{kind: ServiceAccount, name: app}]\n"
    )
    loaded = load_manifests([str(path)])
    assert [o.kind for o in loaded.objects] == ["ServiceAccount", "ClusterRole", "RoleBinding"]
    assert [w for w in loaded.warnings if "RBAC" in w] == [
        "netlab stores and shows ServiceAccounts, Roles, ClusterRoles and their bindings but does not enforce RBAC: every request is allowed"
    ]
    assert problems("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: 'a/b'}\n", tmp_path) == [
        "metadata.name: Invalid value: \"a/b\": may not contain '/'"
    ]


def test_describe_clusterrole_system_coredns_prints_the_docs_table():
    rules = next(m for kind, _, _, m in coredns_rbac() if kind == "ClusterRole")["rules"]
    table = [["Resources", "Non-Resource URLs", "Resource Names", "Verbs"], ["---------", "-----------------", "--------------", "-----"]]
    assert tabbed(table + policy_rows(rules)) == [
        "Resources                        Non-Resource URLs  Resource Names  Verbs",
        "---------                        -----------------  --------------  -----",
        "endpoints                        []                 []              [list watch]",
        "namespaces                       []                 []              [list watch]",
        "pods                             []                 []              [list watch]",
        "services                         []                 []              [list watch]",
        "endpointslices.discovery.k8s.io  []                 []              [list watch]",
    ]


def test_rules_are_broken_down_compacted_and_sorted_as_kubectl_does():
    rules = [
        {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get"]},
        {"apiGroups": [""], "resources": ["nodes"], "verbs": ["list"]},  # compacted: same resource, verbs joined
        {"apiGroups": ["apps"], "resources": ["deployments/scale"], "resourceNames": ["web", "db"], "verbs": ["update"]},
        {"nonResourceURLs": ["/healthz", "/version"], "verbs": ["get"]},
    ]
    # sorted by PolicyRule.String(): "Verbs:[get list]" < "Verbs:[get]" (a space sorts before "]")
    assert policy_rows(rules) == [
        ["nodes", "[]", "[]", "[get list]"],
        ["", "[/healthz]", "[]", "[get]"],
        ["", "[/version]", "[]", "[get]"],
        ["deployments.apps/scale", "[]", "[db]", "[update]"],
        ["deployments.apps/scale", "[]", "[web]", "[update]"],
    ]


def test_binding_subjects_as_the_wide_columns_show_them():
    assert subjects_strings([
        {"kind": "User", "name": "jane"}, {"kind": "Group", "name": "devs"},
        {"kind": "ServiceAccount", "name": "coredns", "namespace": "kube-system"},
    ]) == (["jane"], ["devs"], ["kube-system/coredns"])  # fmt: skip


def test_describe_a_binding_and_a_service_account_as_kubectl_does():
    from types import SimpleNamespace

    from netlab.views.rbac import describe_binding, describe_serviceaccount

    binding = next(m for kind, _, _, m in coredns_rbac() if kind == "ClusterRoleBinding")
    obj = SimpleNamespace(name="system:coredns", namespace="", manifest={**binding, "metadata": {
        "name": "system:coredns", "labels": {"b": "2", "a": "1"}, "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}}})  # fmt: skip
    assert describe_binding(None, obj) == [
        "Name:         system:coredns",
        "Labels:       a=1",
        "              b=2",
        "Annotations:  rbac.authorization.kubernetes.io/autoupdate: true",
        "Role:",
        "  Kind:  ClusterRole",
        "  Name:  system:coredns",
        "Subjects:",
        "  Kind            Name     Namespace",
        "  ----            ----     ---------",
        "  ServiceAccount  coredns  kube-system",
    ]
    account = SimpleNamespace(name="coredns", namespace="kube-system", manifest={"metadata": {"name": "coredns"}})
    assert describe_serviceaccount(None, account) == [
        "Name:                coredns",
        "Namespace:           kube-system",
        "Labels:              <none>",
        "Annotations:         <none>",
        "Image pull secrets:  <none>",
        "Mountable secrets:   <none>",
        "Tokens:              <none>",
    ]
