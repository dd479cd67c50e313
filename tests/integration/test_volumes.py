"""A pod's volumes and its environment from ConfigMaps and Secrets, as the kubelet makes them:
the files a container reads at its mountPath (every key, or the items chosen, at a subPath),
their modes, variables from configMapKeyRef and envFrom, a missing ConfigMap holding the
container back until it exists — and nothing of it on the host's own filesystem."""

from __future__ import annotations

import os

import pytest
from conftest import nl

pytestmark = pytest.mark.root

# Mount points that do not exist on the host: made in the container's namespace alone.
HOST_ABSENT = ("/etc/netlab-volume-test", "/netlab-volume-data")

CONFIG = """
apiVersion: v1
kind: ConfigMap
metadata: {name: game-config}
data:
  game.properties: |
    enemies=aliens
    lives=3
  ui.properties: "color.good=purple\\n"
  LEVEL: debug
  bad-name.x: kept
  1st: skipped without a prefix
---
apiVersion: v1
kind: Secret
metadata: {name: creds}
stringData:
  username: admin
  password: s3cr3t
"""

READER = """
apiVersion: v1
kind: Pod
metadata: {name: reader, labels: {app: reader}}
spec:
  containers:
  - name: c
    image: busybox
    command: [sh, -c, "sleep 3600"]
    env:
    - {name: LEVEL_FROM_MAP, valueFrom: {configMapKeyRef: {name: game-config, key: LEVEL}}}
    - {name: USER_NAME, valueFrom: {secretKeyRef: {name: creds, key: username}}}
    - {name: MAYBE, valueFrom: {configMapKeyRef: {name: no-such-map, key: x, optional: true}}}
    envFrom:
    - {prefix: GAME_, configMapRef: {name: game-config}}
    - {configMapRef: {name: game-config}}
    volumeMounts:
    - {name: config, mountPath: /etc/netlab-volume-test/config}
    - {name: config, mountPath: /etc/netlab-volume-test/one/lives.properties, subPath: game.properties}
    - {name: picked, mountPath: /netlab-volume-data/picked}
    - {name: secret, mountPath: /etc/netlab-volume-test/secret}
    - {name: scratch, mountPath: /netlab-volume-data/scratch}
    - {name: info, mountPath: /etc/netlab-volume-test/podinfo}
  volumes:
  - {name: config, configMap: {name: game-config}}
  - name: picked
    configMap:
      name: game-config
      items: [{key: ui.properties, path: ui/colors.conf, mode: 0600}]
  - {name: secret, secret: {secretName: creds, defaultMode: 0400}}
  - {name: scratch, emptyDir: {}}
  - name: info
    downwardAPI:
      items: [{path: labels, fieldRef: {fieldPath: metadata.labels}}, {path: name, fieldRef: {fieldPath: metadata.name}}]
"""


@pytest.fixture(scope="module")
def reader(lab):
    lab.apply(CONFIG, "config")
    lab.apply(READER, "reader")
    lab.wait_running("reader", timeout=20)
    return lab


def in_reader(lab, script: str) -> str:
    return lab.exec("reader", "sh", "-c", script).stdout


def test_a_configmap_volume_holds_every_key_and_items_and_sub_paths_choose(reader):
    lab = reader
    listed = in_reader(lab, "ls /etc/netlab-volume-test/config").split()
    assert listed == ["1st", "LEVEL", "bad-name.x", "game.properties", "ui.properties"]
    assert in_reader(lab, "cat /etc/netlab-volume-test/config/game.properties") == "enemies=aliens\nlives=3\n"
    # items: only the key chosen, at its path, with its mode
    assert in_reader(lab, "cat /netlab-volume-data/picked/ui/colors.conf; stat -L -c %a /netlab-volume-data/picked/ui/colors.conf") == "color.good=purple\n600\n"
    assert in_reader(lab, "ls /netlab-volume-data/picked").split() == ["ui"]
    # subPath: one file of the volume at a path of its own
    assert in_reader(lab, "cat /etc/netlab-volume-test/one/lives.properties") == "enemies=aliens\nlives=3\n"
    # read-only, as the kubelet mounts configMap volumes; an emptyDir is writable
    refused = lab.exec("reader", "sh", "-c", "echo x > /etc/netlab-volume-test/config/new", check=False)
    assert refused.returncode != 0 and "Read-only file system" in refused.stderr
    assert in_reader(lab, "echo hi > /netlab-volume-data/scratch/f && cat /netlab-volume-data/scratch/f") == "hi\n"
    assert in_reader(lab, "cat /etc/netlab-volume-test/podinfo/labels; echo; cat /etc/netlab-volume-test/podinfo/name") == 'app="reader"\nreader'


def test_a_secret_volume_has_its_keys_decoded_with_the_default_mode(reader):
    lab = reader
    assert in_reader(lab, "cat /etc/netlab-volume-test/secret/password") == "s3cr3t"
    modes = in_reader(lab, "stat -L -c '%a %n' /etc/netlab-volume-test/secret/*").splitlines()
    assert modes == ["400 /etc/netlab-volume-test/secret/password", "400 /etc/netlab-volume-test/secret/username"]


def test_env_comes_from_config_map_keys_secret_keys_and_env_from(reader):
    lab = reader
    # the container's own environment block (a shell would drop names that are not identifiers)
    environ = in_reader(lab, "tr '\\0' '\\n' < /proc/$$/environ").split("\n")
    env = dict(line.split("=", 1) for line in environ if "=" in line)
    assert env["LEVEL_FROM_MAP"] == "debug" and env["USER_NAME"] == "admin"
    assert env["GAME_LEVEL"] == "debug" and env["GAME_bad-name.x"] == "kept" and env["GAME_1st"] == "skipped without a prefix"
    assert env["LEVEL"] == "debug" and "1st" not in env
    assert "MAYBE" not in env  # optional and missing: left out
    described = lab.nl("describe", "pod", "reader").stdout
    assert ("InvalidEnvironmentVariableNames" in described
            and "Keys [1st] from the EnvFrom configMap default/game-config were skipped" in described)  # fmt: skip


def test_mount_points_are_made_inside_the_container_never_on_the_host(reader):
    for path in HOST_ABSENT:
        assert not os.path.exists(path), path
    # the host's /etc as before, in the container: the shadow keeps every entry
    assert "hostname" in in_reader(reader, "ls /etc").split()


def test_a_missing_config_map_holds_the_container_until_it_is_created(reader, wait_until):
    lab = reader
    lab.apply("""
apiVersion: v1
kind: Pod
metadata: {name: waiter}
spec:
  containers:
  - name: c
    image: busybox
    command: [sh, -c, "sleep 3600"]
    env:
    - {name: COLOR, valueFrom: {configMapKeyRef: {name: colors, key: color}}}
""", "waiter")
    row = wait_until(lambda: (r := lab.nl("get", "pod", "waiter").stdout.splitlines()[1].split())[2] != "ContainerCreating" and r,
                     timeout=15, what="the kubelet's verdict")
    assert row[1:3] == ["0/1", "CreateContainerConfigError"]
    state = lab.pod("waiter")["status"]["containerStatuses"][0]["state"]
    assert state == {"waiting": {"reason": "CreateContainerConfigError", "message": 'configmap "colors" not found'}}
    assert 'Error: configmap "colors" not found' in lab.nl("describe", "pod", "waiter").stdout

    assert nl("create", "configmap", "colors", "--from-literal=color=blue", env={"NETLAB_CLUSTER": lab.name}).stdout == "configmap/colors created\n"
    lab.wait_running("waiter", timeout=15)
    assert lab.exec("waiter", "printenv", "COLOR").stdout == "blue\n"


def test_a_missing_volume_source_keeps_the_pod_creating_with_failed_mount(reader):
    lab = reader
    lab.apply("""
apiVersion: v1
kind: Pod
metadata: {name: mounter}
spec:
  containers:
  - name: c
    image: busybox
    command: [sh, -c, "sleep 3600"]
    volumeMounts: [{name: v, mountPath: /netlab-volume-data/v}]
  volumes: [{name: v, secret: {secretName: later}}]
""", "mounter")
    assert lab.nl("get", "pod", "mounter").stdout.splitlines()[1].split()[1:3] == ["0/1", "ContainerCreating"]
    assert 'FailedMount' in lab.nl("describe", "pod", "mounter").stdout
    assert 'MountVolume.SetUp failed for volume "v" : secret "later" not found' in lab.nl("describe", "pod", "mounter").stdout
    nl("create", "secret", "generic", "later", "--from-literal=k=v", env={"NETLAB_CLUSTER": lab.name})
    lab.wait_running("mounter", timeout=15)
    assert lab.exec("mounter", "cat", "/netlab-volume-data/v/k").stdout == "v"


def test_an_edited_config_map_reaches_the_mounted_files(reader, wait_until):
    lab = reader
    lab.apply(CONFIG.replace("LEVEL: debug", "LEVEL: info"), "config")
    wait_until(lambda: in_reader(lab, "cat /etc/netlab-volume-test/config/LEVEL") == "info", timeout=10, what="the new value in the volume")


def test_an_immutable_config_map_refuses_new_data(reader):
    lab = reader
    frozen = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: frozen}\nimmutable: true\ndata: {a: '1'}\n"
    lab.apply(frozen, "frozen")
    refused = lab.apply(frozen.replace("'1'", "'2'"), "frozen", check=False)
    assert refused.returncode == 3 and "data: Forbidden: field is immutable when `immutable` is set" in refused.stderr
    assert lab.get_json("cm", "frozen")["data"] == {"a": "1"}
