"""What a pod's volumes hold and where they are mounted (kubelet/volumes.py), the AtomicWriter
layout on disk, env from ConfigMaps and Secrets (podenv.py), and the nginx image's main
configuration — all without root."""

from __future__ import annotations

import os

import pytest

from netlab.api.configmap import ConfigMap
from netlab.api.models import Pod
from netlab.api.secret import Secret
from netlab.images import nginx
from netlab.kubelet import podenv, volumes

GAME = ConfigMap.model_validate({"metadata": {"name": "game"}, "data": {"lives": "3", "enemies": "aliens"}})
CREDS = Secret.model_validate({"metadata": {"name": "creds"}, "stringData": {"user": "admin"}})


def sources(**extra):
    maps = {"game": GAME}
    secrets = {"creds": CREDS}
    return volumes.Sources(maps.get, secrets.get, lambda path: {"metadata.name": "p"}.get(path, ""))


def pod(volume_list, mounts=()):
    return Pod.model_validate({"metadata": {"name": "p"}, "spec": {"volumes": volume_list, "containers": [
        {"name": "c", "image": "busybox", "volumeMounts": list(mounts)}]}})  # fmt: skip


def test_a_configmap_volume_holds_every_key_or_the_items_chosen():
    every = pod([{"name": "v", "configMap": {"name": "game"}}]).spec.volumes[0]
    assert volumes.payload(every, sources()) == {"enemies": (b"aliens", 0o644), "lives": (b"3", 0o644)}
    chosen = pod([{"name": "v", "configMap": {"name": "game", "defaultMode": 0o400, "items": [{"key": "lives", "path": "a/b", "mode": 0o600}]}}])
    assert volumes.payload(chosen.spec.volumes[0], sources()) == {"a/b": (b"3", 0o600)}


@pytest.mark.parametrize(
    ("volume", "message"),
    [
        ({"name": "v", "configMap": {"name": "nope"}}, 'configmap "nope" not found'),
        ({"name": "v", "configMap": {"name": "game", "items": [{"key": "x", "path": "x"}]}}, "configmap references non-existent config key: x"),
        ({"name": "v", "secret": {"secretName": "nope"}}, 'secret "nope" not found'),
        ({"name": "v", "secret": {"secretName": "creds", "items": [{"key": "pw", "path": "pw"}]}}, "secret references non-existent secret key: pw"),
    ],
)
def test_a_missing_object_or_key_fails_the_mount_with_the_plugins_message(volume, message):
    with pytest.raises(volumes.VolumeError, match=message):
        volumes.payload(pod([volume]).spec.volumes[0], sources())


def test_optional_sources_give_what_exists():
    v = pod([{"name": "v", "configMap": {"name": "nope", "optional": True}}]).spec.volumes[0]
    assert volumes.payload(v, sources()) == {}
    projected = pod([{"name": "v", "projected": {"sources": [
        {"configMap": {"name": "game", "items": [{"key": "lives", "path": "lives"}]}},
        {"secret": {"name": "creds"}},
        {"downwardAPI": {"items": [{"path": "name", "fieldRef": {"fieldPath": "metadata.name"}}]}}]}}])  # fmt: skip
    assert volumes.payload(projected.spec.volumes[0], sources()) == {"lives": (b"3", 0o644), "user": (b"admin", 0o644), "name": (b"p", 0o644)}
    assert volumes.payload(pod([{"name": "v", "emptyDir": {}}]).spec.volumes[0], sources()) is None


def test_labels_are_written_as_the_downward_api_formats_maps():
    assert volumes.format_map({"b": 'say "hi"', "a": "1"}) == 'a="1"\nb="say \\"hi\\""'


def test_mounts_come_parents_first_and_written_volumes_read_only():
    p = pod([{"name": "cfg", "configMap": {"name": "game"}}, {"name": "data", "emptyDir": {}}],
            [{"name": "cfg", "mountPath": "/data/cfg/"}, {"name": "data", "mountPath": "/data"},
             {"name": "cfg", "mountPath": "/etc/lives", "subPath": "lives"}])  # fmt: skip
    planned = volumes.container_mounts("/pod", list(p.spec.volumes), p.spec.containers[0])
    assert planned == (
        volumes.Mount("/pod/volumes/data", "/data", False),
        volumes.Mount("/pod/volumes/cfg", "/data/cfg", True),
        volumes.Mount("/pod/volumes/cfg/lives", "/etc/lives", True),
    )


def test_the_atomic_writer_swaps_data_in_one_rename(tmp_path):
    directory = str(tmp_path / "v")
    assert volumes.write_atomic(directory, {"a": (b"1", 0o644), "sub/b": (b"2", 0o600)})
    first = os.readlink(os.path.join(directory, "..data"))
    assert os.readlink(os.path.join(directory, "a")) == "..data/a" and open(os.path.join(directory, "sub", "b")).read() == "2"
    assert oct(os.stat(os.path.join(directory, "sub", "b")).st_mode & 0o777) == "0o600"
    assert not volumes.write_atomic(directory, {"a": (b"1", 0o644), "sub/b": (b"2", 0o600)})  # unchanged: nothing written
    assert volumes.write_atomic(directory, {"a": (b"new", 0o644)})
    assert os.readlink(os.path.join(directory, "..data")) != first
    assert sorted(os.listdir(directory)) == sorted(["..data", os.readlink(os.path.join(directory, "..data")), "a"])
    assert open(os.path.join(directory, "a")).read() == "new"


def test_env_from_and_key_refs_as_the_kubelet_resolves_them():
    values = {("configmap", "game"): {"lives": "3", "1st": "x"}, ("secret", "creds"): {"user": "admin"}}
    lookup = lambda kind, name: values.get((kind, name))  # noqa: E731
    found, warnings = podenv.env_from([podenv.KeyRef("configmap", "game", prefix="G_"), podenv.KeyRef("configmap", "game")], lookup, "default")
    assert found == {"G_lives": "3", "G_1st": "x", "lives": "3"}
    assert warnings == ["Keys [1st] from the EnvFrom configMap default/game were skipped since they are considered invalid environment variable names."]
    fields = podenv.PodFields("p", "default", "", "n", "default", "10.0.0.1", "", {}, {})
    entries = [podenv.EnvEntry("U", ref=podenv.KeyRef("secret", "creds", "user")),
               podenv.EnvEntry("O", ref=podenv.KeyRef("configmap", "nope", "k", optional=True)),
               podenv.EnvEntry("L", "$(lives)!")]  # fmt: skip
    assert podenv.container_env(entries, fields, {}, found, lookup) == [("G_lives", "3"), ("G_1st", "x"), ("lives", "3"), ("U", "admin"), ("L", "3!")]
    with pytest.raises(podenv.EnvError, match='configmap "nope" not found'):
        podenv.container_env([podenv.EnvEntry("X", ref=podenv.KeyRef("configmap", "nope", "k"))], fields, {}, None, lookup)
    with pytest.raises(podenv.EnvError, match="couldn't find key pw in Secret default/creds"):
        podenv.container_env([podenv.EnvEntry("X", ref=podenv.KeyRef("secret", "creds", "pw"))], fields, {}, None, lookup)
    with pytest.raises(podenv.EnvError, match='secret "s" not found'):
        podenv.env_from([podenv.KeyRef("secret", "s")], lookup, "default")


def test_the_nginx_image_runs_nginx_only_with_its_configuration_mounted():
    def container(image, mounts=()):
        return pod([{"name": "v", "emptyDir": {}}], mounts).spec.containers[0].model_copy(update={"image": image})

    assert nginx.runs_nginx(container("bprashanth/nginxhttps:1.0"))
    assert nginx.runs_nginx(container("docker.io/library/nginx:1.27", [{"name": "v", "mountPath": "/etc/nginx/conf.d"}]))
    assert not nginx.runs_nginx(container("nginx"))  # the built-in server, as before
    assert not nginx.runs_nginx(container("bitnami/nginx", [{"name": "v", "mountPath": "/etc/nginx/conf.d"}]))
    assert nginx.image_mounts(container("bprashanth/nginxhttps"), "/pod") == (("/pod/nginx-c/html", "/usr/share/nginx/html", True),)


def test_the_nginx_main_configuration_keeps_its_paths_in_the_containers_directory():
    text = nginx.main_config("/pod/nginx-c", "/etc/nginx/mime.types")
    assert "include /etc/nginx/conf.d/*.conf;" in text and "pid        /pod/nginx-c/nginx.pid;" in text
    assert "/var/log/nginx" not in text and "/run/nginx.pid" not in text and "\nuser " not in text
    assert "client_body_temp_path /pod/nginx-c/tmp/client_body;" in text and "error_log  stderr notice;" in text
