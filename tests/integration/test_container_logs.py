"""Container logs as a CRI runtime writes them: one file per container instance, a timestamp
and a stream per line; `logs --timestamps/--since/--since-time/--tail/--limit-bytes` read them
as the kubelet does, and nothing a container writes is lost when the control plane is killed."""

from __future__ import annotations

import os
import signal
import time

import pytest
from conftest import control_plane_pids

from netlab import naming
from netlab.apiserver.state import open_lab
from netlab.kernel import containerlogs, logcollector, ns, procs, runtime

pytestmark = pytest.mark.root


def stored_status(lab, name: str) -> dict:
    handle = open_lab(lab.name)
    try:
        return handle.store.get("Pod", "default", name).status
    finally:
        handle.close()


def raw_records(lab, pod: str, container: str, instance: int = 0) -> list[containerlogs.Record]:
    path = os.path.join(stored_status(lab, pod)["dir"], container, f"{instance}.log")
    with open(path, "rb") as f:
        return [containerlogs.parse_record(line) for line in f.read().splitlines()]


def stamped(output: str) -> list[tuple[int, str]]:
    """`logs --timestamps` lines -> (nanoseconds, text)."""
    lines = []
    for line in output.splitlines():
        stamp, _, text = line.partition(" ")
        lines.append((containerlogs.parse_timestamp(stamp), text))
    return lines


def test_timestamps_increase_and_since_keeps_only_the_recent_lines(lab, wait_until):
    go = lab.workdir / "ticker-go"
    lab.apply(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: ticker}\nspec:\n  containers:\n    - name: c\n      image: busybox\n"
        f"      command: [sh, -c, 'echo old; until [ -e {go} ]; do sleep 0.05; done; "
        "i=0; while true; do echo new $i; i=$((i+1)); sleep 0.2; done']\n",
        "ticker",
    )
    wait_until(lambda: "old" in lab.nl("logs", "ticker").stdout, 10, what="the first line in the log")
    mark = time.time_ns()  # after "old" was written, before any "new"
    go.touch()
    # Lines over two seconds after "old", so that `--since=1s` must leave it out.
    old_at = stamped(lab.nl("logs", "ticker", "--timestamps").stdout)[0][0]
    wait_until(lambda: stamped(lab.nl("logs", "ticker", "--timestamps").stdout)[-1][0] > old_at + 2_000_000_000, 15,
               what="two seconds of new lines")

    lines = stamped(lab.nl("logs", "ticker", "--timestamps").stdout)
    assert [text for _, text in lines[:3]] == ["old", "new 0", "new 1"]
    assert [t for t, _ in lines] == sorted(t for t, _ in lines) and lines[0][0] < mark < lines[1][0]

    since_time = lab.nl("logs", "ticker", f"--since-time={containerlogs.format_timestamp(mark)}").stdout.splitlines()
    assert since_time[0] == "new 0" and "old" not in since_time
    asked = time.time_ns()
    recent = stamped(lab.nl("logs", "ticker", "--since=1s", "--timestamps").stdout)
    assert recent and all(t >= asked - 1_000_000_000 - 10**8 for t, _ in recent) and "old" not in {x for _, x in recent}

    assert len(lab.nl("logs", "ticker", "--tail=2", "--timestamps").stdout.splitlines()) == 2
    assert lab.nl("logs", "ticker", "--limit-bytes=6").stdout == "old\nne"
    both = lab.nl("logs", "ticker", "--since=1s", "--since-time=2024-01-01T00:00:00Z", check=False)
    assert both.returncode == 2 and "at most one of `sinceTime` or `sinceSeconds` may be specified" in both.stderr
    lab.nl("delete", "pod", "ticker")


def test_stdout_and_stderr_are_tagged_and_a_long_line_is_cut_as_containerd_does(lab, wait_until):
    lab.apply(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: tagger}\nspec:\n  containers:\n    - name: c\n      image: busybox\n"
        "      command: [sh, -c, \"echo to-out; echo to-err >&2; head -c 40000 /dev/zero | tr '\\\\0' x; echo; "
        "printf 'no newline'; sleep infinity\"]\n",
        "tagger",
    )
    wait_until(lambda: lab.nl("logs", "tagger").stdout.endswith("no newline"), 10, what="the last words")

    records = raw_records(lab, "tagger", "c")
    assert ("stdout", False, b"to-out") in [(r.stream, r.partial, r.content) for r in records]
    assert ("stderr", False, b"to-err") in [(r.stream, r.partial, r.content) for r in records]
    out = [r for r in records if r.stream == "stdout"]
    first = next(i for i, r in enumerate(out) if r.content.startswith(b"x"))
    end = next(i for i in range(first, len(out)) if not out[i].partial)
    long = out[first : end + 1]  # P records, the last one F (the newline may come in a read of its own)
    assert b"".join(r.content for r in long) == b"x" * 40000
    assert max(len(r.content) for r in long) <= containerlogs.MAX_LINE and len(long) >= 3
    # The two streams are separate pipes, drained in either order: the last of stdout's.
    assert out[-1] == containerlogs.Record(out[-1].time, "stdout", True, b"no newline")
    shown = lab.nl("logs", "tagger").stdout.split("\n")
    assert "x" * 40000 in shown and shown[-1] == "no newline"
    lab.nl("delete", "pod", "tagger")


def test_nothing_is_lost_and_nobody_is_killed_while_the_control_plane_is_down(lab, wait_until):
    """kill -9 of the control plane takes its shim, the log writer, along: a container that
    writes more than its pipe holds blocks until a new shim drains it (no SIGPIPE, no loss),
    and one that writes and exits meanwhile keeps its pipe until then."""
    go = lab.workdir / "writers-go"
    wait = f"until [ -e {go} ]; do sleep 0.05; done"
    lab.apply(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: writers}\nspec:\n  restartPolicy: Never\n  containers:\n"
        f"    - {{name: writer, image: busybox, command: [sh, -c, '{wait}; seq 1 300000; echo end >&2; sleep infinity']}}\n"
        f"    - {{name: quitter, image: busybox, command: [sh, -c, '{wait}; echo bye; echo bye-err >&2']}}\n",
        "writers",
    )
    lab.wait_running("writers")
    status = stored_status(lab, "writers")
    records = {r["name"]: r for r in status["containers"]}
    plane = control_plane_pids(lab.name)
    assert len(plane) == 1
    os.kill(plane[0], signal.SIGKILL)
    wait_until(lambda: not control_plane_pids(lab.name) and not control_plane_pids(lab.name, b"netlab.kernel.spawner"),
               5, what="the control plane and its shim gone")
    go.touch()

    netns = ns.netns_path(status["sandbox"]["netns"])

    def seq_blocked() -> bool:  # 2 MB of lines against a 1 MiB pipe nobody reads
        for pid in procs.pids_in_netns(netns):
            if procs.command_line(pid)[:1] == ["seq"]:
                with open(f"/proc/{pid}/wchan") as f:
                    return "pipe" in f.read()
        return False

    wait_until(seq_blocked, 10, what="the writer blocked on its full pipe")
    exit_file = os.path.join(status["dir"], "quitter.exit")
    wait_until(lambda: os.path.exists(exit_file), 5, what="the quitter's program ended")
    quitter = procs.ProcessRef(records["quitter"]["pid"], records["quitter"]["procStart"])
    assert procs.alive(quitter), "its wrapper keeps the pipes until a collector reads them"

    lab.nl("controller", "start")  # a new control plane, and with it a new shim
    wait_until(lambda: lab.nl("logs", "writers", "-c", "writer", "--tail=1").stdout == "end\n", 20, what="the writer drained")
    assert lab.nl("logs", "writers", "-c", "writer").stdout == "".join(f"{i}\n" for i in range(1, 300001)) + "end\n"
    writer = procs.ProcessRef(records["writer"]["pid"], records["writer"]["procStart"])
    assert procs.alive(writer), "the writer was never killed"
    wait_until(lambda: not procs.alive(quitter), 5, what="the quitter's wrapper let go")
    assert sorted(lab.nl("logs", "writers", "-c", "quitter").stdout.splitlines()) == ["bye", "bye-err"]
    assert {(r.stream, r.content) for r in raw_records(lab, "writers", "quitter")} == {("stdout", b"bye"), ("stderr", b"bye-err")}
    lab.nl("delete", "pod", "writers")


def test_a_container_that_cannot_start_says_why_on_stderr_even_without_a_shim_in_the_starter(lab, wait_until):
    """runtime.launch called outside the control plane (as `node` commands do): the lab's shim
    finds the instance in the index and drains the child's last words."""
    lab.apply("apiVersion: v1\nkind: Pod\nmetadata: {name: host}\nspec:\n  containers: [{name: c, image: busybox, command: [sleep, infinity]}]\n", "host")
    lab.wait_running("host")
    status = stored_status(lab, "host")
    log = os.path.join(status["dir"], "doomed", "0.log")
    netns = status["sandbox"]["netns"]
    ref = runtime.launch(runtime.Launch(
        argv=("true",), env={}, netns=ns.netns_path(netns), utsns=ns.utsns_path(netns), binds=(),
        log_path=log, exit_path=os.path.join(status["dir"], "doomed.exit"), cwd="/no/such/directory",
        log_index=naming.container_logs_index(lab.name),
    ))  # fmt: skip
    assert os.waitpid(ref.pid, 0)[1] >> 8 == 127
    wait_until(lambda: not os.path.exists(logcollector.fifo_path(log, "stderr")), 5, what="its pipes drained")
    with open(log, "rb") as f:
        (record,) = [containerlogs.parse_record(line) for line in f.read().splitlines()]
    assert record.stream == "stderr" and record.content.startswith(b"netlab: cannot start the container: ")
    assert b"/no/such/directory" in record.content
    lab.nl("delete", "pod", "host")


def test_a_child_that_cannot_start_lets_go_of_what_its_starter_held(lab, tmp_path, wait_until):
    """A control plane that forks a container itself (a launch too big for the shim's socket:
    thousands of Service variables, refused by exec with E2BIG) held the lab's lock meanwhile.
    The child waits for a reader of its pipes before it exits, and must not hold the lock's
    file while it waits, or the control plane's next reconcile waits on itself for ever."""
    import fcntl

    lab.apply("apiVersion: v1\nkind: Pod\nmetadata: {name: starter}\nspec:\n  containers: [{name: c, image: busybox, command: [sleep, infinity]}]\n", "starter")
    lab.wait_running("starter")
    status = stored_status(lab, "starter")
    netns = status["sandbox"]["netns"]
    log = os.path.join(status["dir"], "toobig", "0.log")
    lock = tmp_path / "lab.lock"
    held = open(lock, "a")
    fcntl.flock(held, fcntl.LOCK_EX)
    # No collector watches this index: the child waits in its pipes until this test reads them.
    ref = runtime.launch(runtime.Launch(
        argv=("true",), env={f"SERVICE_{i}_HOST": "x" * 200 for i in range(20000)}, netns=ns.netns_path(netns),
        utsns=ns.utsns_path(netns), binds=(), log_path=log, exit_path=os.path.join(status["dir"], "toobig.exit"),
        log_index=str(tmp_path / "index"),
    ))  # fmt: skip
    try:
        wait_until(lambda: os.path.exists(os.path.join(status["dir"], "toobig.exit")), 5, what="the child's exit code written")
        held.close()
        again = open(lock, "a")
        fcntl.flock(again, fcntl.LOCK_EX | fcntl.LOCK_NB)  # BlockingIOError: the child kept it
        again.close()
    finally:
        streams = [os.open(logcollector.fifo_path(log, s), os.O_RDONLY | os.O_NONBLOCK) for s in logcollector.STREAMS]
        assert os.waitpid(ref.pid, 0)[1] >> 8 == 127
        said = b"".join(os.read(fd, 65536) for fd in streams)
        for fd in streams:
            os.close(fd)
    assert b"Argument list too long" in said
    lab.nl("delete", "pod", "starter")
