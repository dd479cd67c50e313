"""securityContext honoured: the container's programs run as runAsUser/runAsGroup, `exec` too;
readOnlyRootFilesystem makes `/` read-only for the container alone; runAsNonRoot without a user
is refused at start as the kubelet does; privileged is refused at apply."""

from __future__ import annotations

import os
import pwd
import secrets

import pytest
from conftest import wait_until

pytestmark = pytest.mark.root

PROBE = f"/netlab-ro-probe-{secrets.token_hex(4)}"  # on the host's root filesystem, never created

PODS = f"""
apiVersion: v1
kind: Pod
metadata: {{name: as-user}}
spec:
  securityContext: {{runAsUser: 54321, runAsGroup: 3000, supplementalGroups: [4000]}}
  containers: [{{name: c, image: busybox, command: [sleep, infinity]}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: ro-root}}
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: busybox
    command: [sh, -c, "touch {PROBE}; exit 3"]
    securityContext: {{readOnlyRootFilesystem: true}}
---
apiVersion: v1
kind: Pod
metadata: {{name: non-root}}
spec:
  securityContext: {{runAsNonRoot: true}}
  containers: [{{name: c, image: busybox, command: [sleep, infinity]}}]
"""


@pytest.fixture(scope="module")
def pods(lab):
    try:
        lab.apply(PODS, "security")
        lab.wait_running("as-user")
        yield lab
    finally:
        if os.path.exists(PROBE):  # only if the read-only root failed: leave the host clean
            os.unlink(PROBE)


def _uids(pid: int) -> tuple[str, str]:
    with open(f"/proc/{pid}/status") as f:
        fields = dict(line.split(":", 1) for line in f)
    return fields["Uid"].split()[0], fields["Gid"].split()[0]


def _cmdline(pid: int) -> str:
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return f.read().replace(b"\0", b" ").decode().strip()


def test_the_containers_program_runs_as_its_user_and_group(pods):
    sleepers = [pid for pid in pods.pids_in(pods.pod_netns("as-user")) if _cmdline(pid) == "sleep infinity"]
    assert sleepers, "the container's program runs"
    assert {_uids(pid) for pid in sleepers} == {("54321", "3000")}


def test_exec_runs_as_the_containers_user_too(pods):
    assert pods.exec("as-user", "id", "-u").stdout.strip() == "54321"
    assert pods.exec("as-user", "id", "-G").stdout.split() == ["3000", "4000"]
    try:  # $HOME as the runtime sets it: the user's home in /etc/passwd, else /
        home = pwd.getpwuid(54321).pw_dir
    except KeyError:
        home = "/"
    assert pods.exec("as-user", "sh", "-c", "echo $HOME").stdout.strip() == home


def test_a_read_only_root_refuses_writes_and_the_exit_code_is_still_recorded(pods):
    def finished():
        state = pods.pod("ro-root")["status"]["containerStatuses"][0]["state"]
        return state.get("terminated")

    terminated = wait_until(finished, 10, what="ro-root's container ended")
    assert terminated["exitCode"] == 3
    assert "Read-only file system" in pods.nl("logs", "ro-root").stdout
    assert not os.path.exists(PROBE)
    # Only the container sees `/` read-only: the host's root is as writable as before.
    assert os.access("/", os.W_OK)


def test_run_as_non_root_without_a_user_is_not_started(pods):
    def waiting():
        status = pods.pod("non-root")["status"].get("containerStatuses") or [{}]
        return status[0].get("state", {}).get("waiting")

    state = wait_until(waiting, 10, what="non-root waiting")
    assert state["reason"] == "CreateContainerConfigError"
    assert "runAsNonRoot and image will run as root" in state["message"]
    assert "CreateContainerConfigError" in pods.nl("get", "pod", "non-root").stdout
    assert not pods.pids_in(pods.pod_netns("non-root")) or all(_cmdline(p) != "sleep infinity" for p in pods.pids_in(pods.pod_netns("non-root")))


def test_privileged_is_refused_at_apply(pods):
    refused = pods.apply(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: priv}\n"
        "spec: {containers: [{name: c, image: busybox, command: [sleep, infinity], securityContext: {privileged: true}}]}\n",
        check=False,
    )
    assert refused.returncode == 3
    assert "spec.containers[0].securityContext.privileged" in refused.stderr and "Forbidden" in refused.stderr
