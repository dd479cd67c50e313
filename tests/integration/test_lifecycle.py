"""Seed: pods are cattle — a deleted pod leaves nothing behind, a re-created one gets a new IP,
and a container that cannot run (or has finished) says so instead of pretending to be up."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.root

PODS = """
apiVersion: v1
kind: Pod
metadata: {name: life-1, labels: {app: life}}
spec:
  nodeName: node-a
  containers: [{name: web, image: example.com/web:1, ports: [{containerPort: 8080}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: life-2, labels: {app: life}}
spec:
  nodeName: node-b
  containers: [{name: web, image: example.com/web:1, ports: [{containerPort: 8080}]}]
---
apiVersion: v1
kind: Service
metadata: {name: life}
spec:
  selector: {app: life}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Pod
metadata: {name: watcher}
spec:
  containers: [{name: client, image: busybox, command: ["sleep", "infinity"]}]
"""


def _pod(name: str, command: list[str], restart: str = "Always", labels: str = "{}") -> str:
    return (
        f"apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, labels: {labels}}}\nspec:\n"
        f"  restartPolicy: {restart}\n"
        f"  containers: [{{name: main, image: busybox, command: {command}}}]\n"
    )


@pytest.fixture(scope="module")
def life(lab):
    lab.apply(PODS, "life")
    lab.wait_running("life-1", "life-2", "watcher")
    return lab


def _endpoint_ips(lab, service: str) -> set[str]:
    subsets = lab.get_json("endpoints", service).get("subsets") or []
    return {a["ip"] for s in subsets for a in s.get("addresses", [])}


def _veth(lab, pod: str) -> str:
    described = lab.nl("describe", "pod", pod).stdout
    return re.search(r"veth pair:\s+(\S+)", described).group(1)


def _links(lab, node: str) -> set[str]:
    return {link["ifname"] for link in lab.ip_json("link", "show", netns=lab.node_netns(node))}


def _alive(pid: int) -> bool:
    """Running or sleeping; an exited process waiting to be reaped (zombie) does not count."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):  # gone, or going between the open and the read
        return False
    return state not in ("Z", "X")


def _status_column(lab, pod: str) -> str:
    lines = lab.nl("get", "pods", pod).stdout.splitlines()
    return lines[1].split()[2]


def test_a_deleted_pod_takes_its_netns_veth_and_processes_and_leaves_the_service(life, wait_until):
    netns = life.pod_netns("life-1")
    ip = life.pod_ip("life-1")
    veth = _veth(life, "life-1")
    pids = life.pids_in(netns)
    assert veth in _links(life, "node-a") and pids
    assert ip in _endpoint_ips(life, "life")

    out = life.nl("delete", "pod", "life-1").stdout

    assert out.strip() == 'pod "life-1" deleted'
    assert netns not in life.netns()
    # The kernel frees a namespace's devices in the background once its last pin goes.
    wait_until(lambda: veth not in _links(life, "node-a"), what="the pod's veth to go with its namespace")
    assert [pid for pid in pids if _alive(pid)] == []
    assert _endpoint_ips(life, "life") == {life.pod_ip("life-2")}
    script = "for i in 1 2 3 4 5 6; do curl -s -m 3 http://life/; echo; done"
    answers = [line for line in life.exec("watcher", "sh", "-c", script).stdout.splitlines() if line]
    assert answers and all("pod=life-2" in a.split() for a in answers)


def test_a_pod_recreated_with_the_same_name_comes_back_with_a_new_ip(life):
    life.apply(_pod("phoenix", '["sleep", "infinity"]', labels="{app: phoenix}"), "phoenix")
    life.wait_running("phoenix")
    old_ip = life.pod_ip("phoenix")

    life.nl("delete", "pod", "phoenix")
    life.apply(_pod("phoenix", '["sleep", "infinity"]', labels="{app: phoenix}"), "phoenix")
    life.wait_running("phoenix")

    new_ip = life.pod_ip("phoenix")
    assert new_ip != old_ip
    assert life.exec("phoenix", "ip", "-4", "-o", "addr", "show", "dev", "eth0").stdout.split()[3].split("/")[0] == new_ip


def test_a_container_whose_command_is_missing_is_not_running_and_describe_says_why(life, wait_until):
    life.apply(_pod("broken", '["/no/such/binary"]'), "broken")

    status = wait_until(
        lambda: (s := _status_column(life, "broken")) not in ("Pending", "ContainerCreating") and s,
        what="broken's container status",
    )

    assert status != "Running"
    assert life.pod("broken")["status"]["phase"] != "Running"
    described = life.nl("describe", "pod", "broken").stdout
    assert "/no/such/binary" in described
    assert "not found" in described


@pytest.mark.parametrize("code, status, phase", [(0, "Completed", "Succeeded"), (1, "Error", "Failed")])
def test_a_container_that_exits_with_restart_policy_never_shows_how_it_ended(life, wait_until, code, status, phase):
    name = f"once-{code}"
    life.apply(_pod(name, f'["sh", "-c", "exit {code}"]', restart="Never"), name)

    wait_until(lambda: _status_column(life, name) == status, what=f"{name} to show {status}")

    pod = life.pod(name)
    assert pod["status"]["phase"] == phase
    (container,) = pod["status"]["containerStatuses"]
    assert container["state"]["terminated"]["exitCode"] == code
