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
  CLUSTER.cli.sock  where its warm CLI process takes `apply` and `delete` (lab/warmcli.py)
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from netlab import naming
from netlab.kernel import procs

if TYPE_CHECKING:
    import socket

RUN_DIR = naming.CONTROLLER_DIR

# What the CLI and the control plane say to each other (the datagrams below). A control plane
# of another protocol (netlab was upgraded under a running lab) is replaced, not spoken to.
PROTOCOL = 1

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


def _recorded(cluster: str) -> tuple[procs.ProcessRef, int] | None:
    """The live process of the lab's pid file (pid and start time both match), and its protocol."""
    try:
        with open(pid_path(cluster)) as f:
            fields = [int(x) for x in f.read().split()]
    except (FileNotFoundError, ValueError):
        return None
    if len(fields) < 2:
        return None
    ref = procs.ProcessRef(fields[0], fields[1])
    return (ref, fields[2] if len(fields) > 2 else 0) if procs.alive(ref) else None


def running(cluster: str) -> procs.ProcessRef | None:
    """The lab's control plane process, if one runs."""
    found = _recorded(cluster)
    return found[0] if found else None


def ensure_running(cluster: str) -> procs.ProcessRef | None:
    """Start the lab's control plane unless it runs; returns the running one (None: just spawned).

    Two commands may both spawn one: the second finds the lock taken and exits at once.
    """
    found = _recorded(cluster)
    if found is not None and found[1] == PROTOCOL:
        return found[0]
    if found is not None:
        stop(cluster)  # an older netlab's control plane: the new one adopts its containers
    import subprocess  # socket and subprocess are loaded by what uses them: a reader that finds
    # the control plane running (the usual case) needs neither

    os.makedirs(RUN_DIR, exist_ok=True)
    with open(log_path(cluster), "ab") as log, open(os.devnull, "rb") as devnull:
        child = subprocess.Popen(
            [sys.executable, "-m", "netlab.lab.controller", cluster],
            stdin=devnull,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # not in the CLI's session: Ctrl-C or a closed terminal leave it be
            # A daemon's directory: `-m` puts the directory on sys.path, and a file in the
            # user's (say, grp.py) must not shadow the standard library's module of its name.
            cwd="/",
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


@dataclass(frozen=True)
class Converged:
    """The control plane's answer to a writer: the lab reflects `revision` (and what it could
    not do, for exit code 1)."""

    revision: int
    problems: tuple[str, ...] = field(default=())


# Replies travel in one datagram; a reconcile with more problems than this reports the first.
MAX_PROBLEMS = 50


def converge(cluster: str, revision: int, timeout: float | None = None) -> Converged:
    """Wake the control plane (starting it if need be) and wait until it has converged the lab
    to `revision` — the reply is pushed to this command's own socket, nothing polls the store.
    A control plane that dies meanwhile is started again and asked again."""
    import socket

    deadline = None if timeout is None else time.monotonic() + timeout
    request = json.dumps({"revision": revision}).encode()
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        # An abstract address (leading NUL): nothing to clean up, gone with this process.
        sock.bind(b"\0netlab/" + f"{cluster}/{os.getpid()}/{os.urandom(4).hex()}".encode())
        asked: procs.ProcessRef | None = None
        while True:
            if not os.path.exists(os.path.join(naming.cluster_dir(cluster), "state.db")):
                raise ControlPlaneDown(cluster, "found the lab gone (deleted meanwhile)")
            ref = ensure_running(cluster) or wait_running(cluster)
            if ref is None:
                raise ControlPlaneDown(cluster)
            if ref != asked:
                asked = ref if _send(sock, cluster, request) else None
            sock.settimeout(0.5 if deadline is None else max(0.0, min(0.5, deadline - time.monotonic())))
            try:
                reply = json.loads(sock.recv(1 << 20))
            except (TimeoutError, socket.timeout):
                if deadline is not None and time.monotonic() >= deadline:
                    raise ControlPlaneDown(cluster, "did not converge in time") from None
                continue  # still at work; look whether it still lives, then wait on
            if "error" in reply:
                raise ControlPlaneDown(cluster, reply["error"])
            if reply["revision"] >= revision:
                return Converged(reply["revision"], tuple(reply.get("problems", ())))


class ControlPlaneDown(Exception):
    def __init__(self, cluster: str, why: str = "did not start") -> None:
        super().__init__(f"the control plane of cluster {cluster} {why}; its log: {log_path(cluster)}")


def _send(sock: socket.socket, cluster: str, message: bytes) -> bool:
    try:
        sock.sendto(message, socket_path(cluster))
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ECONNREFUSED):
            return False  # between its start and its bind: ask again shortly
        raise
    return True


def wake(cluster: str) -> bool:
    """Tell the control plane the store changed; False when none listens (nothing to wake)."""
    import socket

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
    `grace`; True when one was running. Its containers stay: the lab's teardown removes them.
    The files of a plane that died (`kill -9`) go too, so a deleted lab leaves nothing here."""
    ref = running(cluster)
    if ref is not None:
        procs.signal_process(ref, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while procs.alive(ref) and time.monotonic() < deadline:
            time.sleep(0.02)
        if procs.alive(ref):
            procs.signal_process(ref, signal.SIGKILL)
            while procs.alive(ref):
                time.sleep(0.01)
    _forget(cluster)
    return ref is not None


def _forget(cluster: str) -> None:
    """Remove the pid file, socket and lock file of a control plane that no longer runs. The
    singleton lock tells: a plane that holds it (one starting right now) keeps its files."""
    try:
        handle = open(lock_path(cluster))
    except FileNotFoundError:
        handle = None
    try:
        if handle is not None:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return
        for path in (pid_path(cluster), socket_path(cluster), naming.cli_socket_path(cluster), lock_path(cluster)):
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
    finally:
        if handle is not None:
            handle.close()


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
        while True:
            self._lock = open(lock_path(cluster), "a")
            try:
                fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                self._lock.close()
                raise
            try:
                if os.stat(lock_path(cluster)).st_ino == os.fstat(self._lock.fileno()).st_ino:
                    break
            except FileNotFoundError:
                pass
            self._lock.close()  # `stop` removed a dead plane's file under us: lock the new one
        try:
            os.unlink(socket_path(cluster))
        except FileNotFoundError:
            pass
        import socket

        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.socket.bind(socket_path(cluster))
        self.socket.setblocking(False)
        pid = os.getpid()
        tmp = pid_path(cluster) + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{pid} {procs.start_time(pid)} {PROTOCOL}\n")
        os.replace(tmp, pid_path(cluster))  # readers never see a half-written pid file

    def drain(self) -> dict[bytes, int]:
        """Read every queued wake-up (one reconcile answers them all); returns the writers
        waiting for an answer: their address -> the revision they wait for."""
        waiting: dict[bytes, int] = {}
        while True:
            try:
                data, address = self.socket.recvfrom(4096)
            except BlockingIOError:
                return waiting
            if not address:
                continue  # a plain wake-up (`wake`): nobody waits
            try:
                waiting[address] = int(json.loads(data)["revision"])
            except (ValueError, KeyError, TypeError):
                continue

    def answer(self, address: bytes, reply: dict) -> None:
        if "problems" in reply:
            reply = {**reply, "problems": list(reply["problems"])[:MAX_PROBLEMS]}
        try:
            self.socket.sendto(json.dumps(reply).encode(), address)
        except OSError:
            pass  # the writer is gone (killed, Ctrl-C): nobody to tell

    def close(self) -> None:
        mine = running(self.cluster)
        if mine is not None and mine.pid == os.getpid():
            for path in (pid_path(self.cluster), socket_path(self.cluster), lock_path(self.cluster)):
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass
        self.socket.close()
        self._lock.close()
