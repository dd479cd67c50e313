"""Seeds 001 and 004: workloads that heal — Deployments keep their replicas, roll over without a
failed request, StatefulSets keep their names while their IPs change, and `get -w` shows it.

One lab for the module, with `netlab controller` running as a person would run it for these
scenarios; the seed manifests in `manifests/` are applied as they are.
"""

from __future__ import annotations

import queue
import re
import signal
import subprocess
import sys
import threading
import time
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

import pytest

from conftest import Lab, wait_until

pytestmark = [pytest.mark.root, pytest.mark.usefixtures("controller")]

MANIFESTS = Path(__file__).resolve().parents[2] / "manifests"
IMAGE_PROCESSING = MANIFESTS / "image-processing"
DEPLOYMENT = IMAGE_PROCESSING / "deployment.yaml"
SELECTOR = "app=image-processing"
# <deployment>-<pod-template-hash>-<5 characters>, both from apimachinery's safe alphabet.
REPLICA_NAME = re.compile(r"^image-processing-([bcdfghjklmnpqrstvwxz2456789]{1,10})-[bcdfghjklmnpqrstvwxz2456789]{5}$")


# -- helpers -----------------------------------------------------------------------------------


def ready(pod: dict[str, Any]) -> bool:
    statuses = pod["status"].get("containerStatuses") or [{"ready": False}]
    return pod["status"].get("phase") == "Running" and all(c["ready"] for c in statuses)


def pods(lab: Lab, selector: str = SELECTOR, namespace: str = "default") -> list[dict[str, Any]]:
    return lab.get_json("pods", "-l", selector, "-n", namespace)["items"]


def wait_replicas(lab: Lab, count: int, selector: str = SELECTOR, namespace: str = "default", timeout: float = 15.0, what: str = "") -> list[dict[str, Any]]:
    """Exactly `count` pods match, every one Running and Ready."""

    def settled():
        found = pods(lab, selector, namespace)
        return found if len(found) == count and all(ready(p) for p in found) else None

    return wait_until(settled, timeout, interval=0.1, what=what or f"{count} ready pods of {selector}")


def names(found: list[dict[str, Any]]) -> set[str]:
    return {p["metadata"]["name"] for p in found}


def ips(found: list[dict[str, Any]]) -> set[str]:
    return {p["status"]["podIP"] for p in found}


def dig(lab: Lab, *query: str) -> list[str]:
    answer = lab.exec("client", "dig", "+short", "+time=1", "+tries=2", *query).stdout
    return [line for line in answer.splitlines() if line.strip()]


class Stream:
    """A long-running `netlab …` whose stdout lines are collected as they come."""

    def __init__(self, lab: Lab, *args: str) -> None:
        argv = [sys.executable, "-m", "netlab", args[0], "--cluster", lab.name, *args[1:]]
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:  # type: ignore[union-attr]
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, predicate, timeout: float, what: str) -> str:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}; lines so far: {self.seen}")
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            self.seen.append(line)
            if predicate(line):
                return line

    def count(self, timeout: float, n: int, what: str) -> None:
        start = len(self.seen)
        self.wait_for(lambda _: len(self.seen) - start >= n, timeout, what)

    def stop(self, sig: int = signal.SIGINT) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def finish(self, timeout: float) -> list[str]:
        """Wait for the command to end by itself; every line it printed."""
        try:
            self.proc.wait(timeout)
        finally:
            self.stop()
        self.reader.join(timeout)
        while not self.lines.empty():
            self.seen.append(self.lines.get_nowait())
        return self.seen


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def image_processing(lab: Lab) -> Lab:
    """Seed 001's scenario: the Deployment of 3, its Service and the client pod."""
    applied = lab.nl("apply", "-f", str(IMAGE_PROCESSING)).stdout
    assert "deployment.apps/image-processing created" in applied
    wait_replicas(lab, 3)
    lab.wait_running("client")
    return lab


# -- Deployment ----------------------------------------------------------------------------------


def test_the_replicas_are_named_after_the_deployment_and_spread_over_both_nodes(image_processing: Lab):
    found = wait_replicas(image_processing, 3)
    hashes = {REPLICA_NAME.match(n).group(1) for n in names(found) if REPLICA_NAME.match(n)}
    assert len(hashes) == 1, f"names do not follow <deploy>-<hash>-<suffix>: {names(found)}"
    assert all(p["metadata"]["labels"]["pod-template-hash"] == next(iter(hashes)) for p in found)
    assert {p["spec"]["nodeName"] for p in found} == {"node-a", "node-b"}
    assert len(ips(found)) == 3
    row = image_processing.nl("get", "deploy", "image-processing").stdout.splitlines()[1].split()
    assert row[:4] == ["image-processing", "3/3", "3", "3"]


def test_a_deleted_replica_is_replaced_by_a_new_pod_with_a_new_ip(image_processing: Lab):
    lab = image_processing
    before = wait_replicas(lab, 3)
    victim = before[0]
    lab.nl("delete", "pod", victim["metadata"]["name"])
    after = wait_replicas(lab, 3, what="a replacement for the deleted replica")
    assert victim["metadata"]["name"] not in names(after)
    (newcomer,) = [p for p in after if p["metadata"]["name"] not in names(before)]
    assert newcomer["status"]["podIP"] not in ips(before)
    assert REPLICA_NAME.match(newcomer["metadata"]["name"])


def test_scale_up_and_down_with_the_scale_command_and_by_applying_again(image_processing: Lab):
    lab = image_processing
    before = wait_replicas(lab, 3)
    text = DEPLOYMENT.read_text()
    assert "replicas: 3" in text
    try:
        scaled = lab.nl("scale", "deploy/image-processing", "--replicas", "4").stdout.strip()
        assert scaled == "deployment.apps/image-processing scaled"
        four = wait_replicas(lab, 4)
        assert names(before) < names(four) and len(ips(four)) == 4
        lab.nl("scale", "deploy/image-processing", "--replicas", "1")
        (one,) = wait_replicas(lab, 1)
        assert one["metadata"]["name"] in names(four), "scaling down keeps pods, it does not replace them"
        # The manifest is the desired state: applying it again (or a changed copy) scales too.
        assert "deployment.apps/image-processing configured" in lab.apply(text.replace("replicas: 3", "replicas: 2")).stdout
        two = wait_replicas(lab, 2)
        assert one["metadata"]["name"] in names(two)
    finally:
        back = lab.nl("apply", "-f", str(DEPLOYMENT)).stdout
    assert "deployment.apps/image-processing configured" in back
    wait_replicas(lab, 3)
    assert "deployment.apps/image-processing unchanged" in lab.nl("apply", "-f", str(DEPLOYMENT)).stdout
    row = lab.nl("get", "deploy", "image-processing").stdout.splitlines()[1].split()
    assert row[:4] == ["image-processing", "3/3", "3", "3"]


# Kubernetes promises a rollout without dropped requests only for pods that say when they can
# serve: without a readinessProbe a pod is an endpoint as soon as its process runs, which may be a
# moment before its server listens. So the rolling-update test adds one to the seed's template.
READINESS_PROBE = """
          readinessProbe:
            httpGet: {path: /, port: http}
            periodSeconds: 1
"""


def with_probe(text: str) -> str:
    assert text.endswith("containerPort: 8080\n")
    return text + READINESS_PROBE.lstrip("\n")


def test_a_rolling_update_does_not_fail_a_single_request(image_processing: Lab, tmp_path: Path):
    """A client polls the Service throughout the rollout (seed 001: the Service is the stable
    address); a new template replaces every pod, within maxSurge 25% / maxUnavailable 25%."""
    lab = image_processing
    lab.apply(with_probe(DEPLOYMENT.read_text()))

    def settled_on_one_template():
        found = wait_replicas(lab, 3)
        return found if len({p["metadata"]["labels"]["pod-template-hash"] for p in found}) == 1 else None

    before = wait_until(settled_on_one_template, 30, interval=0.2, what="the probed template rolled out")
    old_hash = before[0]["metadata"]["labels"]["pod-template-hash"]
    # Pods run host binaries on the host's file system: a file tells the loop to stop.
    stop = tmp_path / "stop-polling"
    script = (
        f"end=$(($(date +%s) + 60)); "
        f'while [ ! -e {stop} ] && [ "$(date +%s)" -lt "$end" ]; do '
        f'curl -s -m 1 http://image-processing/ || echo "FAILED exit=$?"; done'
    )
    client = Stream(lab, "exec", "client", "--", "sh", "-c", script)
    try:
        client.count(10, 5, "the client's first answers")
        lab.apply(with_probe(DEPLOYMENT.read_text().replace("image-processing:1.0", "image-processing:1.1")))

        def rolled_over():
            found = pods(lab)
            hashes = {p["metadata"]["labels"]["pod-template-hash"] for p in found}
            return found if len(found) == 3 and old_hash not in hashes and all(ready(p) for p in found) else None

        after = wait_until(rolled_over, 45, interval=0.2, what="every replica on the new template")
        client.count(10, 20, "answers after the rollout")
    finally:
        stop.touch()
        lines = client.finish(15)
    answers = [line for line in lines if line.startswith("pod=")]
    failures = [line for line in lines if line.startswith("FAILED")]
    assert not failures, f"{len(failures)} of {len(lines)} requests failed during the rollout: {failures[:5]}"
    answered_by = {line.split()[0].removeprefix("pod=") for line in answers}
    new_hash = after[0]["metadata"]["labels"]["pod-template-hash"]
    assert any(f"-{old_hash}-" in n for n in answered_by) and any(f"-{new_hash}-" in n for n in answered_by)
    assert names(after).isdisjoint(names(before))


def test_a_killed_container_restarts_in_the_same_pod_with_the_same_ip(image_processing: Lab):
    lab = image_processing
    pod = wait_replicas(lab, 3)[0]
    name, ip = pod["metadata"]["name"], pod["status"]["podIP"]
    described = lab.nl("describe", "pod", name).stdout
    pid = re.search(r"PID:\s+(\d+)", described).group(1)
    lab.exec(name, "kill", pid)  # the web server dies inside the pod

    def restarted():
        now = lab.pod(name)
        statuses = now["status"].get("containerStatuses") or []
        return now if ready(now) and statuses[0]["restartCount"] == 1 else None

    now = wait_until(restarted, 15, interval=0.1, what=f"{name} restarted by the controller")
    assert now["status"]["podIP"] == ip, "a container restart keeps the pod (and its IP)"
    row = lab.nl("get", "pods", name).stdout.splitlines()[1].split()
    assert row[:4] == [name, "1/1", "Running", "1"]
    assert lab.curl("client", f"http://{ip}:8080/")["pod"] == name
    assert re.search(r"PID:\s+(\d+)", lab.nl("describe", "pod", name).stdout).group(1) != pid


# -- StatefulSet and headless Service (seed 004) -----------------------------------------------


@pytest.fixture(scope="module")
def statefulset(image_processing: Lab) -> Lab:
    lab = image_processing
    lab.nl("apply", "-f", str(MANIFESTS / "statefulset" / "web.yaml"))
    wait_replicas(lab, 2, "app=nginx")
    return lab


def test_statefulset_pods_have_ordinal_names_and_their_own_hostname(statefulset: Lab):
    lab = statefulset
    assert names(pods(lab, "app=nginx")) == {"web-0", "web-1"}
    assert lab.exec("web-0", "hostname").stdout.strip() == "web-0"
    assert lab.exec("web-1", "hostname").stdout.strip() == "web-1"
    row = lab.nl("get", "sts", "web").stdout.splitlines()[1].split()
    assert row[:2] == ["web", "2/2"]


def test_each_statefulset_pod_has_a_stable_dns_name(statefulset: Lab):
    lab = statefulset
    for name in ("web-0", "web-1"):
        assert dig(lab, f"{name}.nginx.default.svc.cluster.local") == [lab.pod_ip(name)]


def test_the_headless_service_answers_with_every_ready_pod(statefulset: Lab):
    lab = statefulset
    assert set(dig(lab, "nginx.default.svc.cluster.local")) == ips(pods(lab, "app=nginx"))


def test_srv_records_name_one_target_per_endpoint_for_the_named_port(statefulset: Lab):
    lab = statefulset
    records = [line.split() for line in dig(lab, "SRV", "_web._tcp.nginx.default.svc.cluster.local")]
    assert sorted(r[3] for r in records) == ["web-0.nginx.default.svc.cluster.local.", "web-1.nginx.default.svc.cluster.local."]
    assert all(r[2] == "80" for r in records)


def test_ptr_of_a_statefulset_pod_ip_names_the_pod(statefulset: Lab):
    lab = statefulset
    assert dig(lab, "-x", lab.pod_ip("web-1")) == ["web-1.nginx.default.svc.cluster.local."]


def test_a_recreated_statefulset_pod_keeps_its_name_and_dns_name_but_not_its_ip(statefulset: Lab):
    lab = statefulset
    old_ip = lab.pod_ip("web-1")
    lab.nl("delete", "pod", "web-1")
    wait_replicas(lab, 2, "app=nginx", what="web-1 re-created")
    assert names(pods(lab, "app=nginx")) == {"web-0", "web-1"}
    new_ip = lab.pod_ip("web-1")
    assert new_ip != old_ip
    wait_until(lambda: dig(lab, "web-1.nginx.default.svc.cluster.local") == [new_ip], 3, interval=0.1, what="DNS to follow web-1's new IP")
    assert lab.exec("web-1", "hostname").stdout.strip() == "web-1"


# -- the `web` Service of namespace my-app (seed 004) -------------------------------------------


@pytest.fixture(scope="module")
def my_app(image_processing: Lab) -> Lab:
    lab = image_processing
    lab.nl("apply", "-f", str(MANIFESTS / "my-app"))
    wait_replicas(lab, 2, "app=web-server", namespace="my-app")
    return lab


def test_the_web_service_of_my_app_answers_by_its_dns_name(my_app: Lab):
    lab = my_app
    cluster_ip = lab.cluster_ip("web", "my-app")
    assert dig(lab, "web.my-app.svc.cluster.local") == [cluster_ip]
    answer = lab.curl("client", "http://web.my-app/")
    assert answer["namespace"] == "my-app"
    assert answer["pod"] in names(pods(lab, "app=web-server", "my-app"))


def test_the_named_port_web_has_an_srv_record_and_the_cluster_ip_a_ptr(my_app: Lab):
    lab = my_app
    assert dig(lab, "SRV", "_web._tcp.web.my-app.svc.cluster.local") == ["0 100 80 web.my-app.svc.cluster.local."]
    assert dig(lab, "-x", lab.cluster_ip("web", "my-app")) == ["web.my-app.svc.cluster.local."]


# -- watching ------------------------------------------------------------------------------------


def test_get_pods_watch_prints_a_line_when_a_pod_appears(image_processing: Lab):
    lab = image_processing
    watch = Stream(lab, "get", "pods", "-o", "wide", "-w")
    try:
        watch.wait_for(lambda line: line.startswith("NAME"), 10, "the header")
        watch.wait_for(lambda line: line.startswith("client "), 10, "the initial listing")
        lab.apply(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: newcomer}\n"
            "spec: {containers: [{name: c, image: busybox, command: [sleep, infinity]}]}\n"
        )
        line = watch.wait_for(lambda line: line.startswith("newcomer "), 10, "a line for the new pod")
        running = line if "Running" in line else watch.wait_for(lambda l: l.startswith("newcomer ") and "Running" in l, 10, "newcomer Running")
        ip = running.split()[5]
        assert IPv4Address(ip) in lab.ranges.pod
    finally:
        watch.stop()
        lab.nl("delete", "pod", "newcomer", "--ignore-not-found")
