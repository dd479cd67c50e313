"""The ConfigMap kind, pod volumes, volumeMounts and envFrom: the apiserver's checks, and what
`create configmap` / `create secret` generate from their flags."""

from __future__ import annotations

import base64

import pytest
from pydantic import ValidationError

from netlab.api import configdata
from netlab.api.configmap import ConfigMap
from netlab.api.field import problems_from_validation_error
from netlab.api.models import Pod
from netlab.errors import InvalidInput


def problems(model, data) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    return [str(p) for p in problems_from_validation_error(caught.value)]


def cm(**fields):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, **fields}


def test_a_configmap_keeps_data_and_binary_data():
    made = ConfigMap.model_validate(cm(data={"a.conf": "x=1\n"}, binaryData={"blob": base64.b64encode(b"\xff\x00").decode()}))
    assert made.value("a.conf") == b"x=1\n" and made.value("blob") == b"\xff\x00" and made.value("nope") is None
    assert made.keys() == ["a.conf", "blob"]


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"data": {"a/b": "x"}}, 'data: Invalid value: "a/b": a valid config key must consist of alphanumeric characters'),
        ({"data": {"..": "x"}}, "data: Invalid value: \"..\": must not be '..'"),
        ({"data": {"k": "x"}, "binaryData": {"k": "eA=="}}, 'data: Invalid value: "k": duplicate of key present in binaryData'),
        ({"binaryData": {"k": "not base64!"}}, "binaryData[k]: Invalid value: \"<binary data>\": illegal base64 data at input byte 3"),
        ({"data": {"big": "x" * (1024 * 1024), "one": "x"}}, "Too long: must have at most 1048576 bytes"),
    ],
)
def test_the_apiserver_refuses(fields, problem):
    assert any(p.startswith(problem) for p in problems(ConfigMap, cm(**fields))), problems(ConfigMap, cm(**fields))


def pod(volumes, mounts, env_from=None):
    container = {"name": "c", "image": "busybox", "volumeMounts": mounts}
    if env_from is not None:
        container["envFrom"] = env_from
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [container], "volumes": volumes}}


def test_volumes_and_mounts_are_checked_as_the_apiserver_does():
    found = problems(Pod, pod(
        [{"name": "a", "configMap": {"name": "x", "items": [{"key": "k", "path": "../up"}], "defaultMode": 0o1000}},
         {"name": "a", "emptyDir": {}}, {"name": "b", "secret": {"secretName": "s"}, "emptyDir": {}}],
        [{"name": "missing", "mountPath": "/x"}, {"name": "a", "mountPath": "relative"}, {"name": "a", "mountPath": "/x", "subPath": "/abs"}],
    ))  # fmt: skip
    text = "\n".join(found)
    assert "spec.volumes[0].configMap.items[0].path: Invalid value: \"../up\": must not contain '..'" in text
    assert "spec.volumes[0].configMap.defaultMode: Invalid value: 512: must be a number between 0 and 0777 (octal), both inclusive" in text
    assert "spec.volumes[2]: Forbidden: may not specify more than 1 volume type" in text
    assert 'spec.containers[0].volumeMounts[1].mountPath: Invalid value: "relative": must be an absolute path' in text
    assert 'spec.containers[0].volumeMounts[2].subPath: Invalid value: "/abs": must be a relative path' in text


def test_mount_names_and_paths_are_cross_checked():
    found = problems(Pod, pod([{"name": "a", "emptyDir": {}}, {"name": "a", "emptyDir": {}}],
                              [{"name": "nope", "mountPath": "/x"}, {"name": "a", "mountPath": "/x"}]))
    assert found == [
        'spec.volumes[1].name: Duplicate value: "a"',
        'spec.containers[0].volumeMounts[0].name: Not found: "nope"',
        'spec.containers[0].volumeMounts[1].mountPath: Invalid value: "/x": must be unique',
    ]


def test_host_path_is_refused_and_other_sources_are_kept():
    assert "Forbidden: netlab does not mount host directories" in problems(Pod, pod([{"name": "h", "hostPath": {"path": "/"}}], []))[0]
    kept = Pod.model_validate(pod([{"name": "d", "persistentVolumeClaim": {"claimName": "x"}}], [{"name": "d", "mountPath": "/d"}]))
    assert kept.spec.volumes[0].kind == "emptyDir"


def test_env_from_needs_one_source_and_a_valid_prefix():
    found = problems(Pod, pod([], [], [{"prefix": "1-", "configMapRef": {"name": "x"}}, {}]))
    assert any("envFrom[0].prefix" in p for p in found) and any("envFrom[1]: Required value" in p for p in found)


# --- kubectl create configmap / secret ----------------------------------------------------------


def test_create_configmap_reads_files_directories_literals_and_env_files(tmp_path):
    (tmp_path / "default.conf").write_text("server {}\n")
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "a.txt").write_text("A")
    (tmp_path / "dir" / "bin").write_bytes(b"\xff\xfe")
    (tmp_path / "dir" / "bad name").write_text("skipped")
    (tmp_path / "vars.env").write_text("# comment\n\nCOLOR=blue\nSIZE=3\n")
    made = configdata.configmap("cfg", "default", [str(tmp_path / "default.conf"), f"renamed={tmp_path / 'default.conf'}", str(tmp_path / "dir")],
                                ["level=debug"], [str(tmp_path / "vars.env")])  # fmt: skip
    assert made["data"] == {"default.conf": "server {}\n", "renamed": "server {}\n", "a.txt": "A", "level": "debug", "COLOR": "blue", "SIZE": "3"}
    assert made["binaryData"] == {"bin": base64.b64encode(b"\xff\xfe").decode()}
    assert ConfigMap.model_validate(made).keys()


def test_a_key_given_twice_is_refused_as_kubectl_does():
    with pytest.raises(InvalidInput, match='cannot add key "a", another key by that name already exists in Data for ConfigMap "c"'):
        configdata.configmap("c", "default", [], ["a=1", "a=2"], [])


def test_create_secret_tls_and_generic(tmp_path):
    (tmp_path / "k").write_text("KEY")
    (tmp_path / "c").write_text("CERT")
    tls = configdata.secret_tls("s", "default", str(tmp_path / "c"), str(tmp_path / "k"))
    assert tls["type"] == "kubernetes.io/tls"
    assert tls["data"] == {"tls.crt": base64.b64encode(b"CERT").decode(), "tls.key": base64.b64encode(b"KEY").decode()}
    generic = configdata.secret_generic("g", "default", [], ["user=admin"], [], None)
    assert generic["type"] == "Opaque" and generic["data"] == {"user": "YWRtaW4="}
    with pytest.raises(InvalidInput):
        configdata.secret_tls("s", "default", None, str(tmp_path / "k"))
