"""`procs.terminate` signals only the process its record names: pid *and* start time."""

import os
import signal
import subprocess
import sys
import time

from netlab.kernel import procs


def _sleeper() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], start_new_session=True)


def _group() -> tuple[subprocess.Popen, int]:
    """A process leading its own group, and the pid of another member of that group."""
    leader = subprocess.Popen(["sh", "-c", "sleep 30 & echo $!; wait"], start_new_session=True, stdout=subprocess.PIPE, text=True)
    return leader, int(leader.stdout.readline())


def _gone(pid: int, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while procs.start_time(pid) is not None:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_a_recorded_process_and_its_group_are_stopped():
    leader, member = _group()
    try:
        procs.terminate([procs.ProcessRef(leader.pid, procs.start_time(leader.pid))], grace=2.0)
        assert leader.wait(timeout=5) is not None
        assert _gone(member)  # the group the leader leads went too
    finally:
        if leader.poll() is None:
            os.killpg(leader.pid, signal.SIGKILL)
        leader.wait()


def test_a_pid_whose_start_time_differs_from_the_record_is_never_signalled():
    # What a recycled pid looks like: the number is right, the process is another one.
    other, member = _group()
    try:
        stale = procs.ProcessRef(other.pid, procs.start_time(other.pid) - 1)
        procs.terminate([stale], grace=0.1)
        assert other.poll() is None and not _gone(member, within=0)
    finally:
        os.killpg(other.pid, signal.SIGKILL)
        other.wait()


def test_processes_are_found_by_namespace_with_their_start_times():
    child = _sleeper()
    try:
        refs = procs.refs_in_netns("/proc/self/ns/net")
        assert procs.ProcessRef(child.pid, procs.start_time(child.pid)) in refs
        assert child.pid in procs.pids_in_netns("/proc/self/ns/net")
    finally:
        child.kill()
        child.wait()
