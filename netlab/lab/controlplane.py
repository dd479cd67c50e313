"""The control plane of a lab as a process: start it, find it, wake it, stop it.

Each lab has one control plane process (`lab/controller.py` is what it runs): it starts with
the lab (the first `apply`, `cluster create`), keeps running after the CLI exits, and stops
with `cluster delete` and `reset`. The CLI plays kubectl and apiserver: it writes the store,
then wakes the control plane with one datagram on the lab's socket, so the reaction to a
change never waits for a polling interval.

Everything here is cheap to import (no netlink, no models): every command may call it.

Files under /run/netlab/controller/ (gone with a reboot, like the processes they describe):
  CLUSTER.lock  held (flock) by the running control plane, so only one runs per lab
  CLUSTER.pid   its pid and start time, so a recycled pid is never signalled
  CLUSTER.sock  the datagram socket it wakes on
"""

from __future__ import annotations

import errno
import fcntl
import os
import signal
import socket
import subprocess
import sys
import time

from netlab import naming
from netlab.kernel import procs

RUN_DIR = "/run/netlab/controller"

# A control plane that has not written its pid file this long after it was spawned failed
# to start; its log says why.
START_TIMEOUT = 15.0


def lock_path(cluster: str) -> str:
    return os.path.join(RUN_DIR, f"{cluster}.lock")


def pid_path(cluster: str) -> str:
    return os.path.join(RUN_DIR, f"{cluster}.pid")


def socket_path(cluster: str) -> str:
    return os.path.join(RUN_DIR, f"{cluster}.sock")


def log_path(cluster: str) -> str:
    return os.path.join(naming.cluster_dir(cluster), "controller.log")


def running(cluster: str) -> procs.ProcessRef | None:
    """The lab's control plane process, if one runs (pid and start time both match)."""
    try:
        with open(pid_path(cluster)) as f:
            pid, start = (int(x) for x in f.read().split())
    except (FileNotFoundError, ValueError):
        return None
    ref = procs.ProcessRef(pid, start)
    return ref if procs.alive(ref) else None


def ensure_running(cluster: str) -> procs.ProcessRef | None:
    """Start the lab's control plane unless it runs; returns the running one (None: just spawned).

    Two commands may both spawn one: the second finds the lock taken and exits at once.
    """
    ref = running(cluster)
    if ref is not None:
        return ref
    os.makedirs(RUN_DIR, exist_ok=True)
    with open(log_path(cluster), "ab") as log, open(os.devnull, "rb") as devnull:
        child = subprocess.Popen(
            [sys.executable, "-m", "netlab.lab.controller", cluster],
            stdin=devnull,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # not in the CLI's session: Ctrl-C or a closed terminal leave it be
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    child.returncode = 0  # it outlives us on purpose; init adopts it when we exit
    return None


def wait_running(cluster: str, timeout: float = START_TIMEOUT) -> procs.ProcessRef | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ref = running(cluster)
        if ref is not None:
            return ref
        time.sleep(0.02)
    return None


def wake(cluster: str) -> bool:
    """Tell the control plane the store changed; False when none listens (nothing to wake)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        try:
            sock.sendto(b"wake", socket_path(cluster))
        except OSError as exc:
            # No control plane (ENOENT, ECONNREFUSED), or its queue is full of wake-ups already.
            if exc.errno in (errno.ENOENT, errno.ECONNREFUSED, errno.EAGAIN, errno.ENOTSOCK):
                return exc.errno == errno.EAGAIN
            raise
    return True


def stop(cluster: str, grace: float = 10.0) -> bool:
    """Stop the lab's control plane (SIGTERM: it finishes its current reconcile), SIGKILL after
    `grace`; True when one was running. Its containers stay: the lab's teardown removes them."""
    ref = running(cluster)
    if ref is None:
        return False
    procs.signal_process(ref, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while procs.alive(ref) and time.monotonic() < deadline:
        time.sleep(0.02)
    if procs.alive(ref):
        procs.signal_process(ref, signal.SIGKILL)
        while procs.alive(ref):
            time.sleep(0.01)
    for path in (pid_path(cluster), socket_path(cluster), lock_path(cluster)):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
    return True


def known() -> list[str]:
    """Every lab with a control plane pid file on this machine (running or not)."""
    try:
        return sorted(f[: -len(".pid")] for f in os.listdir(RUN_DIR) if f.endswith(".pid"))
    except FileNotFoundError:
        return []


def stop_all() -> list[str]:
    return [cluster for cluster in known() if stop(cluster)]


class Singleton:
    """The control plane's own side: hold the lab's lock for life, publish pid and socket."""

    def __init__(self, cluster: str) -> None:
        self.cluster = cluster
        os.makedirs(RUN_DIR, exist_ok=True)
        self._lock = open(lock_path(cluster), "w")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            raise
        try:
            os.unlink(socket_path(cluster))
        except FileNotFoundError:
            pass
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.socket.bind(socket_path(cluster))
        self.socket.setblocking(False)
        pid = os.getpid()
        tmp = pid_path(cluster) + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{pid} {procs.start_time(pid)}\n")
        os.replace(tmp, pid_path(cluster))  # readers never see a half-written pid file

    def drain(self) -> None:
        """Read every queued wake-up: one reconcile answers them all."""
        while True:
            try:
                self.socket.recv(64)
            except BlockingIOError:
                return

    def close(self) -> None:
        mine = running(self.cluster)
        if mine is not None and mine.pid == os.getpid():
            for path in (pid_path(self.cluster), socket_path(self.cluster)):
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass
        self.socket.close()
        self._lock.close()
