"""Container processes: start them inside a pod's namespaces, find them, stop them.

A container is a host process that joins the pod's network and UTS namespaces and gets a
private mount namespace in which the pod's own `/etc/resolv.conf` and `/etc/hosts` are
bind-mounted — what `ip netns exec` does with `/etc/netns/NAME/`. A process is identified by
its pid *and* its start time, so a recycled pid is never mistaken for ours.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from netlab.kernel import ns

# `sh` runs the program and records how it ended, so `get pods` can show the exit code of a
# process that is not netlab's child any more (netlab commands exit; containers stay).
_WRAPPER = 'rm -f "$0"; "$@"; echo $? > "$0"'


@dataclass(frozen=True)
class ProcessRef:
    pid: int
    start_time: int  # in clock ticks since boot (/proc/PID/stat field 22)


@dataclass(frozen=True)
class Launch:
    argv: tuple[str, ...]
    env: Mapping[str, str]
    netns: str  # path of the pod's network namespace
    utsns: str  # path of the pod's UTS namespace
    binds: tuple[tuple[str, str], ...]  # (pod file, path it shows up at inside)
    log_path: str
    exit_path: str
    cwd: str | None = None


def _stat_fields(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name may contain spaces and parentheses; fields resume after the last ')'.
    return data[data.rindex(")") + 2 :].split()


def start_time(pid: int) -> int | None:
    """The start time of a live (non-zombie) process, or None."""
    fields = _stat_fields(pid)
    if fields is None or fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


def alive(ref: ProcessRef) -> bool:
    return start_time(ref.pid) == ref.start_time


def _enter_pod(launch: Launch, net_fd: int, uts_fd: int) -> None:
    """Runs in the forked child before exec: join the pod, then give it its own /etc files."""
    # Like runc: a container starts with default signal handling and nothing blocked, whatever
    # the process that started netlab ignored (nohup, unshare --fork, a CI runner).
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    ns.setns(net_fd, ns.CLONE_NEWNET)
    ns.setns(uts_fd, ns.CLONE_NEWUTS)
    ns.unshare(ns.CLONE_NEWNS)
    # Slave propagation: host mounts still reach the pod, the pod's binds never reach the host.
    ns.mount("none", "/", None, ns.MS_REC | ns.MS_SLAVE)
    for source, target in launch.binds:
        if os.path.exists(target):  # a minimal host may lack /etc/hostname; never create host files
            ns.mount(source, target, "none", ns.MS_BIND)


def launch(spec: Launch) -> ProcessRef:
    net_fd = ns.open_ns(spec.netns)
    uts_fd = ns.open_ns(spec.utsns)
    try:
        with open(spec.log_path, "ab") as log, open(os.devnull, "rb") as devnull:
            child = subprocess.Popen(
                ["/bin/sh", "-c", _WRAPPER, spec.exit_path, *spec.argv],
                stdin=devnull,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=dict(spec.env),
                cwd=spec.cwd,
                start_new_session=True,
                preexec_fn=lambda: _enter_pod(spec, net_fd, uts_fd),
            )
    finally:
        os.close(net_fd)
        os.close(uts_fd)
    started = start_time(child.pid)
    # Dropping the Popen without wait() would warn; the process is adopted by init anyway.
    child.returncode = 0
    return ProcessRef(child.pid, started if started is not None else 0)


def exec_in_pod(spec: Launch) -> None:
    """Replace this process with `spec.argv` inside the pod (for `netlab exec`). Never returns."""
    net_fd = ns.open_ns(spec.netns)
    uts_fd = ns.open_ns(spec.utsns)
    _enter_pod(spec, net_fd, uts_fd)
    os.close(net_fd)
    os.close(uts_fd)
    if spec.cwd:
        os.chdir(spec.cwd)
    os.execvpe(spec.argv[0], list(spec.argv), dict(spec.env))


def run_in_pod(spec: Launch, argv: tuple[str, ...], timeout: float) -> int:
    """Run `argv` inside the pod and wait for it (an exec probe); its exit code."""
    net_fd = ns.open_ns(spec.netns)
    uts_fd = ns.open_ns(spec.utsns)
    try:
        result = subprocess.run(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=dict(spec.env),
            timeout=timeout,
            preexec_fn=lambda: _enter_pod(spec, net_fd, uts_fd),
        )
    except FileNotFoundError:
        return 127
    finally:
        os.close(net_fd)
        os.close(uts_fd)
    return result.returncode


def read_exit_code(path: str) -> int | None:
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (FileNotFoundError, ValueError):
        return None


def pids_in_netns(netns_path: str) -> list[int]:
    """Every process whose network namespace is the one pinned at `netns_path`."""
    try:
        inode = ns.ns_inode(netns_path)
    except FileNotFoundError:
        return []
    return pids_by_netns().get(inode, [])


def pids_by_netns() -> dict[int, list[int]]:
    """Processes grouped by the inode of their network namespace (one scan of /proc)."""
    groups: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            inode = os.stat(f"/proc/{entry}/ns/net").st_ino
        except (FileNotFoundError, PermissionError, ProcessLookupError):
            continue
        groups.setdefault(inode, []).append(int(entry))
    return groups


def _signal(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def terminate(pids: Iterable[int], grace: float = 2.0) -> None:
    """SIGTERM every process (and its group), wait up to `grace` seconds, then SIGKILL the rest."""
    targets = {pid: start_time(pid) for pid in pids}
    targets = {pid: st for pid, st in targets.items() if st is not None}
    for pid in targets:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while targets and time.monotonic() < deadline:
        targets = {pid: st for pid, st in targets.items() if start_time(pid) == st}
        if targets:
            time.sleep(0.02)
    for pid in targets:
        _signal(pid, signal.SIGKILL)


def kill_leftovers(group: int, netns_path: str) -> None:
    """SIGKILL what is left of a container's process group inside its pod (e.g. a child whose
    wrapper was killed), before the container starts again."""
    for pid in pids_in_netns(netns_path):
        try:
            if os.getpgid(pid) == group:
                os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            continue


def still_running(refs: Sequence[ProcessRef]) -> list[int]:
    return [ref.pid for ref in refs if alive(ref)]
