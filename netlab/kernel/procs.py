"""Processes that are netlab's: find them, watch them, stop them — never another's.

A process is identified by its pid *and* its start time (`ProcessRef`), so a recycled pid is
never mistaken for ours: signals go through a pidfd checked against the recorded start time,
and a container's single copy is found by the POSIX lock its wrapper holds (`lock_holder`).
Starting containers and entering pods is `runtime.py`'s.
"""

from __future__ import annotations

import fcntl
import os
import signal
import time
from dataclasses import dataclass
from typing import Iterable, Sequence

from netlab.kernel import ns


@dataclass(frozen=True)
class ProcessRef:
    pid: int
    start_time: int  # in clock ticks since boot (/proc/PID/stat field 22)


def _stat_fields(pid: int) -> list[bytes] | None:
    # Plain system calls and bytes: `get pods` and every teardown's scan of the process table
    # read this file once per process, and a text-mode open() costs three times as much.
    try:
        fd = os.open(f"/proc/{pid}/stat", os.O_RDONLY | os.O_CLOEXEC)
    except (FileNotFoundError, ProcessLookupError):
        return None
    try:
        data = os.read(fd, 4096)
    except ProcessLookupError:  # it died between the open and the read
        return None
    finally:
        os.close(fd)
    # The command name may contain spaces and parentheses; fields resume after the last ')'.
    return data[data.rindex(b")") + 2 :].split()


def start_time(pid: int) -> int | None:
    """The start time of a live (non-zombie) process, or None."""
    fields = _stat_fields(pid)
    if fields is None or fields[0] in (b"Z", b"X"):
        return None
    return int(fields[19])


def started_at(ref: ProcessRef) -> float:
    """The wall-clock time the process started (boot time + its start time in ticks)."""
    with open("/proc/stat") as f:
        boot = next(int(line.split()[1]) for line in f if line.startswith("btime "))
    return boot + ref.start_time / os.sysconf("SC_CLK_TCK")


def alive(ref: ProcessRef) -> bool:
    return start_time(ref.pid) == ref.start_time


PR_SET_CHILD_SUBREAPER = 36  # <linux/prctl.h>


def become_subreaper() -> None:
    """Orphans of this process's children (containers whose shim died) become its children,
    not init's, so this process reaps them instead of leaving zombies to an init that may
    not reap (as in some VMs and containers)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def lock_holder(path: str) -> ProcessRef | None:
    """The live process holding the POSIX lock on `path` (a container's wrapper), or None."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        # Ask the kernel first, in O(1): /proc/locks lists every lock of the machine, and a
        # start of N containers reading it each time would cost O(N²).
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        st = os.fstat(fd)
        with open("/proc/locks") as f:
            return _holder(f.read(), os.major(st.st_dev), os.minor(st.st_dev), st.st_ino)
    else:
        return None  # nobody holds it (closing the fd below drops the lock we just took)
    finally:
        os.close(fd)


def _holder(locks: str, major: int, minor: int, inode: int) -> ProcessRef | None:
    """Parse /proc/locks: `1: POSIX  ADVISORY  WRITE 4242 00:1a:5678 0 EOF` (waiters carry `->`)."""
    for line in locks.splitlines():
        fields = line.split()
        if len(fields) < 6 or fields[1] == "->" or fields[1] != "POSIX":
            continue
        try:
            dev_major, dev_minor, ino = fields[5].split(":")
            if (int(dev_major, 16), int(dev_minor, 16), int(ino)) != (major, minor, inode):
                continue
            pid = int(fields[4])
        except ValueError:
            continue
        started = start_time(pid)
        if started is not None:
            return ProcessRef(pid, started)
    return None


def exit_watch(ref: ProcessRef) -> int | None:
    """A pidfd that becomes readable when the recorded process exits (None: it is gone already).
    Works for processes that are not our children, so a restarted control plane can wait on
    the containers it adopted."""
    try:
        fd = os.pidfd_open(ref.pid)
    except (ProcessLookupError, OSError):
        return None
    if start_time(ref.pid) != ref.start_time:  # the pid was recycled before we opened it
        os.close(fd)
        return None
    return fd


def signal_process(ref: ProcessRef, sig: int, *, group: bool = False) -> bool:
    """Send `sig` to exactly the recorded process (through a pidfd, so a pid recycled between
    the check and the kill cannot receive it) and, with `group`, to the process group it leads;
    False when it is gone (or its pid now names another process: nothing is sent then).

    The group is signalled by number only after the pidfd check: while a process lives, no
    other group can carry its pid as id, so the group is the one it leads.
    """
    fd = exit_watch(ref)
    if fd is None:
        return False
    try:
        if group:
            try:
                if os.getpgid(ref.pid) == ref.pid:
                    os.killpg(ref.pid, sig)
            except (ProcessLookupError, PermissionError):
                pass
        signal.pidfd_send_signal(fd, sig)
    except ProcessLookupError:
        return False
    finally:
        os.close(fd)
    return True


def read_exit_code(path: str) -> int | None:
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (FileNotFoundError, ValueError):
        return None


def pids_in_netns(netns_path: str) -> list[int]:
    """Every process whose network namespace is the one pinned at `netns_path`."""
    return [ref.pid for ref in refs_in_netns(netns_path)]


def refs_in_netns(netns_path: str) -> list[ProcessRef]:
    """Every process in the namespace pinned at `netns_path`, each with its start time."""
    try:
        inode = ns.ns_inode(netns_path)
    except FileNotFoundError:
        return []
    return refs_by_netns().get(inode, [])


def pids_by_netns() -> dict[int, list[int]]:
    """Processes grouped by the inode of their network namespace (one scan of /proc)."""
    return {inode: [ref.pid for ref in refs] for inode, refs in refs_by_netns().items()}


def refs_by_netns() -> dict[int, list[ProcessRef]]:
    """Processes, with their start times, grouped by the inode of their network namespace.

    The start time is read before and after the namespace: when both agree, that very process
    was in that namespace (a pid recycled in between shows another start time and is left out).
    """
    groups: dict[int, list[ProcessRef]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        before = start_time(pid)
        try:
            inode = os.stat(f"/proc/{entry}/ns/net").st_ino
        except (FileNotFoundError, PermissionError, ProcessLookupError):
            continue
        if before is not None and start_time(pid) == before:
            groups.setdefault(inode, []).append(ProcessRef(pid, before))
    return groups


def terminate(refs: Iterable[ProcessRef], grace: float = 2.0) -> None:
    """SIGTERM every recorded process (and the group it leads), wait up to `grace` seconds,
    then SIGKILL what is left. Only a process whose pid *and* start time match its record is
    ever signalled, so a recycled pid never takes an unrelated process (group) down."""
    targets = [ref for ref in refs if signal_process(ref, signal.SIGTERM, group=True)]
    deadline = time.monotonic() + grace
    while targets and time.monotonic() < deadline:
        targets = [ref for ref in targets if alive(ref)]
        if targets:
            time.sleep(0.02)
    for ref in targets:
        signal_process(ref, signal.SIGKILL, group=True)


def kill_leftovers(group: int, netns_path: str) -> None:
    """SIGKILL what is left of a container's process group inside its pod (e.g. a child whose
    wrapper was killed), before the container starts again."""
    for ref in refs_in_netns(netns_path):
        try:
            if os.getpgid(ref.pid) == group:
                signal_process(ref, signal.SIGKILL)
        except ProcessLookupError:
            continue


def still_running(refs: Sequence[ProcessRef]) -> list[int]:
    return [ref.pid for ref in refs if alive(ref)]


def start_daemon(netns_path: str, argv: Sequence[str], log_path: str) -> ProcessRef:
    """Start a node's daemon (BIRD) in the foreground inside the node's network namespace, in
    its own session so it outlives the command that started it; stdout and stderr to a log."""
    import subprocess

    net_fd = ns.open_ns(netns_path)
    try:
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=lambda: ns.setns(net_fd, ns.CLONE_NEWNET),
            )
    finally:
        os.close(net_fd)
    for _ in range(100):  # the child's /proc entry is there at once; its stat may lag a fork
        started = start_time(proc.pid)
        if started is not None:
            return ProcessRef(proc.pid, started)
        time.sleep(0.001)
    raise OSError(f"{argv[0]} exited at once; see {log_path}")


def command_line(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return []
