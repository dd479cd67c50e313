"""The warm CLI beside a lab's control plane (lab/warmcli.py, cli/resident.py): `apply` and `delete` run in a
fork of it, and a user cannot tell but by the speed — same output, same exit codes, the
caller's working directory, stdin and environment; Ctrl-C reaches the command, and a CLI
killed with `kill -9` takes its command along. Nothing depends on it: without it (or with
`NETLAB_RESIDENT=0`) the CLI runs the command itself."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import control_plane_pids, wait_until

from netlab import naming
from netlab.apiserver.state import locked

pytestmark = pytest.mark.root

POD = """apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:
  containers: [{{name: pause, image: registry.k8s.io/pause:3.9}}]
"""


def _log(lab) -> str:
    return Path(naming.cluster_dir(lab.name), "controller.log").read_text()


def _run(lab, *args: str, cwd: Path | None = None, input: str | None = None, warm: bool = True) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "NETLAB_CLUSTER"}
    if not warm:
        env["NETLAB_RESIDENT"] = "0"
    return subprocess.run(
        [sys.executable, "-m", "netlab", *args, "--cluster", lab.name],
        input=input, capture_output=True, text=True, env=env, cwd=cwd, timeout=60,
    )  # fmt: skip


def _start(lab, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "netlab", *args, "--cluster", lab.name], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _warm(lab) -> None:
    wait_until(lambda: os.path.exists(naming.cli_socket_path(lab.name)), timeout=20, what="the warm CLI listening")


def _child_of(lab, caller: int) -> int:
    """The pid of the warm process's child running the command of CLI process `caller`."""
    try:
        found = wait_until(lambda: re.search(rf"warm CLI: pid (\d+) runs .* for pid {caller}\n", _log(lab)), what="the command handed over")
    except AssertionError as exc:
        warm = control_plane_pids(lab.name, b"netlab.lab.warmcli")
        listening = os.path.exists(naming.cli_socket_path(lab.name))
        tail = "".join(_log(lab).splitlines(keepends=True)[-25:])
        raise AssertionError(f"{exc}\nwarm processes: {warm}, socket there: {listening}\ncontrol plane log, last lines:\n{tail}") from None
    return int(found.group(1))


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):  # gone, or going between the open and the read
        return False


def test_apply_and_delete_are_run_by_the_warm_process_as_the_cli_would(lab, tmp_path: Path) -> None:
    _warm(lab)
    (tmp_path / "warm.yaml").write_text(POD.format(name="warm"))
    made = _run(lab, "apply", "-f", "warm.yaml", cwd=tmp_path)  # relative to the caller's directory
    assert (made.returncode, made.stdout) == (0, "pod/warm created\n"), made.stderr
    assert re.search(rf"warm CLI: pid \d+ runs `netlab apply -f warm.yaml --cluster {lab.name}` for pid \d+", _log(lab))
    assert lab.get_json("pod", "warm")["status"]["phase"] == "Running"  # applied, and waited for

    # The same command lines, run here and there: the same output and exit code.
    for args, stdin in (
        (("apply", "-f", "-"), POD.format(name="warm")),  # stdin
        (("apply", "-f", "-"), "kind: Pod\n"),  # invalid: exit 3, nothing applied
        (("apply",), None),  # usage: exit 2, click's message naming the program as typed
        (("apply", "-f", "warm.yaml", "--dry-run=client"), None),
        (("delete", "pod", "nosuchpod"), None),  # exit 1 (kubectl's NotFound)
    ):
        here = _run(lab, *args, cwd=tmp_path, input=stdin, warm=False)
        there = _run(lab, *args, cwd=tmp_path, input=stdin)
        assert (there.returncode, there.stdout, there.stderr) == (here.returncode, here.stdout, here.stderr), args
    assert "Usage: python -m netlab apply" in _run(lab, "apply").stderr

    gone = _run(lab, "delete", "-f", str(tmp_path / "warm.yaml"))
    assert (gone.returncode, gone.stdout) == (0, 'pod "warm" deleted\n'), gone.stderr


def test_ctrl_c_reaches_the_command_and_a_killed_cli_takes_its_command_along(lab, tmp_path: Path) -> None:
    _warm(lab)
    manifest = tmp_path / "blocked.yaml"
    manifest.write_text(POD.format(name="blocked"))
    with locked(lab.name):  # each command waits for the lab's lock, in the warm process's child
        interrupted = _start(lab, "apply", "-f", str(manifest))
        child = _child_of(lab, interrupted.pid)
        interrupted.send_signal(signal.SIGINT)  # what the terminal sends to the CLI on Ctrl-C
        _, stderr = interrupted.communicate(timeout=20)
        assert interrupted.returncode == 130, stderr
        assert stderr.startswith("interrupted:"), stderr
        wait_until(lambda: not _alive(child), what="the interrupted command to end")

        killed = _start(lab, "apply", "-f", str(manifest))
        child = _child_of(lab, killed.pid)
        killed.kill()
        killed.wait(timeout=20)
        wait_until(lambda: not _alive(child), what="the killed CLI's command to end with it")
    # Neither stored anything: both stopped before they could take the lock.
    assert "blocked" not in lab.nl("get", "pods", "-o", "name").stdout


def test_the_warm_process_goes_with_its_control_plane_and_the_cli_does_without_it(lab, tmp_path: Path) -> None:
    _warm(lab)
    warm = control_plane_pids(lab.name, b"netlab.lab.warmcli")
    assert len(warm) == 1, warm
    for pid in control_plane_pids(lab.name):
        os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not control_plane_pids(lab.name, b"netlab.lab.warmcli"), what="the warm process to follow its control plane")
    # The next command runs itself (the socket is refused), starts the control plane again,
    # and that one starts a new warm process.
    (tmp_path / "after.yaml").write_text(POD.format(name="after"))
    assert lab.nl("apply", "-f", str(tmp_path / "after.yaml")).stdout == "pod/after created\n"
    wait_until(lambda: control_plane_pids(lab.name, b"netlab.lab.warmcli"), timeout=20, what="a new warm process")
    lab.nl("delete", "pod", "after")
