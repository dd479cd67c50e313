"""`netlab controller`: the reconcile loop (`reconcile.py`), run continuously — kubelet,
kube-proxy and the controller manager in one process. It restarts exited containers, follows readiness, replaces
pods lost with a failed node and keeps rules and DNS in step, without waiting for an `apply`.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from typing import Callable

from netlab import naming
from netlab.apiserver.state import locked, open_lab
from netlab.errors import NetlabError, NotFound
from netlab.kernel import procs
from netlab.lab.reconcile import reconcile

PID_DIR = "/run/netlab/controller"


def pid_file(cluster: str) -> str:
    return os.path.join(PID_DIR, f"{cluster}.pid")


def running(cluster: str) -> procs.ProcessRef | None:
    try:
        with open(pid_file(cluster)) as f:
            pid, start = (int(x) for x in f.read().split())
    except (FileNotFoundError, ValueError):
        return None
    ref = procs.ProcessRef(pid, start)
    return ref if procs.alive(ref) else None


def _reap() -> None:
    """Containers started by this long-lived process are its children: collect their exits."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _latest_event(cluster: str) -> int:
    lab = open_lab(cluster)
    try:
        events = lab.store.events()
        return events[-1][0] if events else 0
    finally:
        lab.close()


def loop(cluster: str, interval: float, log: Callable[[str], None]) -> None:
    stopping = False

    def stop(signum, frame) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    last_event = _latest_event(cluster)
    log(f"controller for cluster {cluster} started (pid {os.getpid()}, every {interval:g} s)")
    while not stopping:
        started = time.monotonic()
        try:
            with locked(cluster):
                lab = open_lab(cluster)
                try:
                    outcome = reconcile(lab)
                    for event_id, e in lab.store.events(last_event):
                        last_event = event_id
                        subject = f"{e.kind.lower()}/{e.name}" + (f" -n {e.namespace}" if e.namespace else "")
                        log(f"{e.type:<7} {e.reason:<20} {subject}: {e.message}")
                finally:
                    lab.close()
            for problem in outcome.problems:
                log(f"problem: {problem}")
        except NotFound:
            log(f"cluster {cluster} is gone; stopping")
            return
        except NetlabError as exc:
            log(f"reconcile failed: {exc.message} {exc.detail}")
        _reap()
        remaining = interval - (time.monotonic() - started)
        if remaining > 0 and not stopping:
            time.sleep(remaining)  # the loop's period, not a synchronisation
    log("controller stopped")


def daemonize(cluster: str, interval: float) -> int:
    """Start the loop in the background; returns the daemon's pid."""
    if running(cluster):
        raise NetlabError(f"a controller already runs for cluster {cluster} (netlab controller --stop)")
    os.makedirs(PID_DIR, exist_ok=True)
    log_path = os.path.join(naming.cluster_dir(cluster), "controller.log")
    read_fd, write_fd = os.pipe()
    if os.fork() > 0:
        os.close(write_fd)
        with os.fdopen(read_fd) as r:
            return int(r.read().strip() or 0)
    os.close(read_fd)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    pid = os.getpid()
    with open(pid_file(cluster), "w") as f:
        f.write(f"{pid} {procs.start_time(pid)}\n")
    os.write(write_fd, f"{pid}\n".encode())
    os.close(write_fd)
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    sys.stdout = os.fdopen(1, "w", buffering=1)
    try:
        loop(cluster, interval, lambda line: print(time.strftime("%H:%M:%S"), line, flush=True))
    finally:
        try:
            os.unlink(pid_file(cluster))
        except FileNotFoundError:
            pass
        os._exit(0)


def stop(cluster: str, grace: float = 5.0) -> bool:
    ref = running(cluster)
    if ref is None:
        return False
    procs.terminate([ref.pid], grace)
    try:
        os.unlink(pid_file(cluster))
    except FileNotFoundError:
        pass
    return True


def stop_all() -> list[str]:
    try:
        clusters = [f[:-4] for f in os.listdir(PID_DIR) if f.endswith(".pid")]
    except FileNotFoundError:
        return []
    return [c for c in clusters if stop(c)]
