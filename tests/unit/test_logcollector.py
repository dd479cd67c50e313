"""The collector drains container pipes into CRI logs (kernel/logcollector.py), with the launch
wrapper of kernel/procs.py run as a plain process: FIFOs and inotify need no root."""

from __future__ import annotations

import os
import subprocess
import time

from netlab.kernel import containerlogs, logcollector, runtime


def poll(fn, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := fn():
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {fn}")


def start_wrapped(tmp_path, script: str) -> tuple[subprocess.Popen, str]:
    """The wrapper as runtime.launch runs it (minus the pod's namespaces), on fresh pipes."""
    log = str(tmp_path / "pod" / "c" / "0.log")
    out, err = logcollector.prepare(log, str(tmp_path / "index"))
    fifos = [logcollector.fifo_path(log, s) for s in logcollector.STREAMS]
    try:
        proc = subprocess.Popen(
            ["/bin/sh", "-c", runtime._WRAPPER, str(tmp_path / "exit"), *fifos, "sh", "-c", script],
            stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True,
        )
    finally:
        os.close(out)
        os.close(err)
    return proc, log


def test_what_a_container_wrote_before_any_collector_ran_is_kept_until_one_reads_it(tmp_path):
    proc, log = start_wrapped(tmp_path, "echo hello; echo oops >&2; printf 'no newline'")
    poll(lambda: (tmp_path / "exit").exists())  # the program ended...
    assert proc.poll() is None  # ...and its wrapper holds the pipes until someone reads them

    collector = logcollector.Collector(str(tmp_path / "index"))
    collector.start()
    try:
        assert proc.wait(timeout=5) == 0
        poll(lambda: not os.path.exists(logcollector.fifo_path(log, "stdout")))  # drained, then removed
        with open(log, "rb") as f:
            records = [containerlogs.parse_record(line) for line in f.read().splitlines()]
    finally:
        collector.stop()
    assert sorted((r.stream, r.partial, r.content) for r in records) == [
        ("stderr", False, b"oops"),
        ("stdout", False, b"hello"),
        ("stdout", True, b"no newline"),
    ]
    assert os.listdir(tmp_path / "index") == []
    assert (tmp_path / "exit").read_text() == "0\n"


def test_a_running_collector_picks_up_a_new_container_at_once_and_follows_it(tmp_path):
    collector = logcollector.Collector(str(tmp_path / "index"))
    collector.start()
    try:
        proc, log = start_wrapped(tmp_path, "echo first; sleep 30; echo second")
        poll(lambda: os.path.exists(log) and b"first" in open(log, "rb").read())
        assert proc.poll() is None
        os.killpg(proc.pid, 15)
        proc.wait(timeout=5)
    finally:
        collector.stop()
    assert [line.content for line in containerlogs.decode(open(log, "rb").read())] == [b"first"]
