"""Every exit code of the README's table, provoked for real (0, 2, 3, 4, 130, 141).

1 (partial failure: a valid request whose kernel work failed) has no provocation that does not
break the machine on purpose; `cli/common.report` and the delete/reset paths raise it.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys

import pytest
import yaml
from conftest import cluster_document, new_cluster_name, nl

from netlab import naming
from netlab.naming import DEFAULT_CLUSTER


def test_success_is_0(lab):
    assert lab.nl("get", "pods", check=False).returncode == 0


def test_a_usage_error_is_2(lab):
    result = lab.nl("get", "pods", "--no-such-flag", check=False)
    assert result.returncode == 2 and "No such option" in result.stderr


def test_invalid_input_is_3_and_names_the_field(lab):
    result = lab.apply("apiVersion: v1\nkind: Pod\nmetadata: {name: Bad_Name}\nspec: {containers: [{name: c, image: pause}]}\n", check=False)
    assert result.returncode == 3 and "Bad_Name" in result.stderr
    assert lab.nl("get", "pod", "Bad_Name", check=False).returncode == 3  # not found: invalid input too


def test_a_range_clash_is_4_and_creates_nothing(lab, tmp_path):
    name = new_cluster_name()
    config = tmp_path / "clash.yaml"
    config.write_text(yaml.safe_dump(cluster_document(name, lab.ranges)))
    result = nl("cluster", "create", "--config", str(config), check=False)
    assert result.returncode == 4, result.stderr
    assert "overlap" in result.stderr or "clash" in result.stderr, result.stderr
    assert not os.path.exists(naming.cluster_dir(name))
    assert not [n for n in os.listdir("/run/netns") if n.startswith(name + ".")]


def test_ctrl_c_is_130(lab):
    lab.apply("apiVersion: v1\nkind: Pod\nmetadata: {name: sleeper}\nspec: {containers: [{name: c, image: registry.k8s.io/pause}]}\n")
    watch = subprocess.Popen(
        [sys.executable, "-m", "netlab", "get", "pods", "-w", "--cluster", lab.name],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        # The watch is under way once it has printed the listing's header.
        ready, _, _ = select.select([watch.stdout], [], [], 15)
        assert ready and watch.stdout.readline().startswith("NAME"), "the watch printed no listing"
        watch.send_signal(signal.SIGINT)
        assert watch.wait(timeout=10) == 130
    finally:
        if watch.poll() is None:
            watch.kill()
            watch.wait()


def test_a_reader_that_leaves_the_pipe_is_141_without_a_traceback(lab):
    """`netlab get … | true`: the output (~300 KB of JSON) outgrows the pipe's buffer (64 KiB),
    so netlab is still writing when the reader has gone without reading."""
    lab.apply("".join(
        f"---\napiVersion: v1\nkind: Service\nmetadata: {{name: svc-{i:03d}}}\nspec: {{ports: [{{port: 80}}]}}\n" for i in range(300)
    ))  # fmt: skip
    reader_gone = subprocess.run(
        f"{sys.executable} -m netlab get svc -o json --cluster {lab.name} | true; echo ${{PIPESTATUS[0]}} >&2",
        shell=True, executable="/bin/bash", capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    *_, code = reader_gone.stderr.splitlines()
    assert code == "141" and "Traceback" not in reader_gone.stderr, reader_gone.stderr
    lab.nl("delete", "svc", "--all")


def test_a_first_apply_refused_by_admission_creates_no_default_lab(tmp_path):
    # The first `apply` creates the default cluster — but only once the documents are admitted:
    # a Pod in a namespace that does not exist is refused (3) with nothing built.
    if os.path.exists(naming.cluster_dir(DEFAULT_CLUSTER)):
        pytest.skip("the default cluster exists on this machine (this test needs it absent)")
    manifest = tmp_path / "pod.yaml"
    manifest.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: lost, namespace: nowhere}\nspec: {containers: [{name: c, image: pause}]}\n")
    result = nl("apply", "-f", str(manifest), check=False)
    assert result.returncode == 3 and 'namespaces "nowhere" not found' in result.stderr, result.stderr
    assert "creating the default cluster" not in result.stderr
    assert not os.path.exists(naming.cluster_dir(DEFAULT_CLUSTER))
    assert not [n for n in os.listdir("/run/netns") if n.startswith(DEFAULT_CLUSTER + ".")]
