"""`netlab edit`'s pure parts: kubectl's file header and re-open reasons, what counts as a
change, the editor's command line, and the JSON merge patch that carries the change."""

from __future__ import annotations

from netlab.apiserver import mergepatch
from netlab.cli.editfile import HEADER, Reason, content, editor_argv, has_lines, header, render, reopen

SERVICE = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "my-nginx", "namespace": "default"},
    "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.20", "ports": [{"port": 80, "protocol": "TCP"}]},
    "status": {"loadBalancer": {}},
}


def test_the_yaml_file_starts_with_kubectls_header_and_sorted_keys():
    text = render(SERVICE, "yaml")
    assert text.startswith(
        "# Please edit the object below. Lines beginning with a '#' will be ignored,\n"
        "# and an empty file will abort the edit. If an error occurs while saving this file will be\n"
        "# reopened with the relevant failures.\n#\napiVersion: v1\nkind: Service\nmetadata:\n"
    )
    assert text.index("  clusterIP:") < text.index("  ports:") < text.index("  type: ClusterIP")


def test_json_has_no_header():
    text = render(SERVICE, "json")
    assert text.startswith('{\n    "apiVersion": "v1",') and "#" not in text


def test_a_refused_save_reopens_with_the_causes_above_the_users_text():
    edited = render(SERVICE, "yaml").replace("type: ClusterIP", "type: Bogus")
    reasons = (Reason('services "my-nginx" was not valid', ('spec.type: Unsupported value: "Bogus"',)),)
    text = reopen(edited, "yaml", reasons)
    assert text.startswith(HEADER + '# services "my-nginx" was not valid:\n# * spec.type: Unsupported value: "Bogus"\n#\napiVersion: v1\n')
    assert text.count("Please edit the object below") == 1  # the old header went with the comments
    assert "type: Bogus" in text


def test_a_reason_of_several_lines_stays_a_comment():
    assert header((Reason("The edited file had a syntax error: line 3\nmapping values"),)).endswith(
        "# The edited file had a syntax error: line 3\n# mapping values\n#\n"
    )


def test_changes_are_judged_without_comments_and_layout():
    original = render(SERVICE, "yaml")
    assert content(original) == content("# another comment\n" + original.replace("port: 80", "port:    80"))
    assert content(original) != content(original.replace("ClusterIP", "LoadBalancer"))
    broken = "a: [\n# note\n"
    assert content(broken) == content("a: [\n")  # unparseable: compared as text without comments


def test_a_file_of_comments_only_is_empty():
    assert not has_lines(HEADER + "\n   \n")
    assert has_lines(HEADER + "kind: Service\n")


def test_the_editor_is_split_like_kubectl_splits_it():
    path = "/tmp/netlab-edit-1.yaml"
    assert editor_argv({}, path) == ["vi", path]
    assert editor_argv({"EDITOR": "nano"}, path) == ["nano", path]
    assert editor_argv({"KUBE_EDITOR": "sed -i s/ClusterIP/LoadBalancer/", "EDITOR": "nano"}, path) == [
        "sed", "-i", "s/ClusterIP/LoadBalancer/", path,
    ]
    # quotes: the shell runs it, with the path quoted
    assert editor_argv({"KUBE_EDITOR": 'sed -i "s/a b/c/"', "SHELL": "/bin/sh"}, path) == [
        "/bin/sh", "-c", f'sed -i "s/a b/c/" "{path}"',
    ]
    assert editor_argv({"KUBE_EDITOR": "code --wait 'x'"}, path)[0] == "/bin/bash"


def test_the_merge_patch_carries_only_what_changed():
    edited = {**SERVICE, "spec": {**SERVICE["spec"], "type": "LoadBalancer"}}
    assert mergepatch.create(SERVICE, edited) == {"spec": {"type": "LoadBalancer"}}
    assert mergepatch.create(SERVICE, SERVICE) == {}
    removed = {k: v for k, v in SERVICE.items() if k != "status"}
    assert mergepatch.create(SERVICE, removed) == {"status": None}
    ports = {**SERVICE, "spec": {**SERVICE["spec"], "ports": [{"port": 8080, "protocol": "TCP"}]}}
    assert mergepatch.create(SERVICE, ports) == {"spec": {"ports": [{"port": 8080, "protocol": "TCP"}]}}  # lists whole


def test_the_merge_patch_applies_to_the_stored_object_as_rfc_7386_says():
    stored = {"spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}, "metadata": {"name": "web", "labels": {"a": "1"}}}
    patched = mergepatch.apply(stored, {"spec": {"type": "LoadBalancer"}, "metadata": {"labels": {"a": None, "b": "2"}}})
    assert patched == {"spec": {"selector": {"app": "web"}, "ports": [{"port": 80}], "type": "LoadBalancer"},
                       "metadata": {"name": "web", "labels": {"b": "2"}}}  # fmt: skip
    assert stored["metadata"]["labels"] == {"a": "1"}  # untouched
