"""Container logs — the I/O part: the pipes a container writes to, and the collector that turns
them into CRI log files (containerlogs.py).

On a node the runtime's shim reads the container's stdout and stderr and writes
`/var/log/pods/<ns>_<pod>_<uid>/<container>/<restartCount>.log`. Here, per container instance:

- two FIFOs beside its log file, `<n>.stdout` and `<n>.stderr`, which the container gets as
  fds 1 and 2 opened O_RDWR: it always holds a reader itself, so it never gets SIGPIPE or
  EPIPE whoever reads or dies; when nobody drains, it blocks once the pipe is full (1 MiB,
  F_SETPIPE_SZ) — exactly as a container blocks when its log driver stalls;
- an entry in the lab's index directory (a symlink to the log file), made by `prepare` before
  the fork, so whichever collector runs finds the instance: the shim's at once (inotify), a
  collector started later by scanning the index;
- the container's last holder does not let the pipe go while nobody reads it: the launch
  wrapper (runtime.py), once its program ended, closes its own read-write ends and re-opens the
  FIFOs write-only, which blocks until a collector holds the read end — so what a container
  wrote before it exited is never dropped with the pipe, even when it exits while no
  collector runs (the control plane and its shim killed with `kill -9`) or before the
  collector opened the FIFOs (a container that fails at once). The collector reads to EOF
  (every writer gone), then removes the FIFOs and the index entry.

The collector is a thread with its own epoll loop (`Collector.start`). The control plane's
container shim (spawner.py) runs it; a process that starts containers without a shim (the CLI's
in-process reconcile of `node` commands, tests) needs none of its own: its containers are in
the index, and the lab's shim drains them (until one runs, they wait in their pipes). So the
starter need not open the read ends before its fork either: nothing it starts can drop its
output unread, however fast it exits, whoever started it.

What can still be lost: what a shim killed with `kill -9` itself had read and not yet written
(it writes after each drain, so at most one batch), and the last output of a container whose
wrapper is killed with SIGKILL while no collector runs (the pipes go with their last holder).
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import select
import signal
import struct
import sys
import threading
import time

from netlab.kernel.containerlogs import STDERR, STDOUT, Splitter

PIPE_SIZE = 1 << 20  # fs.pipe-max-size's default; root may go beyond, nobody needs to
READ_SIZE = 1 << 16
STREAMS = (STDOUT, STDERR)

IN_CLOEXEC, IN_NONBLOCK = os.O_CLOEXEC, os.O_NONBLOCK
IN_CREATE, IN_MOVED_TO = 0x100, 0x80
_EVENT = struct.Struct("iIII")


def fifo_path(log_path: str, stream: str) -> str:
    """`<container>/<n>.log` -> `<container>/<n>.stdout` (or `.stderr`)."""
    return log_path[: -len(".log")] + "." + stream if log_path.endswith(".log") else f"{log_path}.{stream}"


def index_entry(index: str, log_path: str) -> str:
    """The instance's name in the index: `<pod dir>_<container>_<n>`, unique in the lab."""
    container_dir, instance = os.path.split(log_path)
    pod_dir, container = os.path.split(container_dir)
    return os.path.join(index, f"{os.path.basename(pod_dir)}_{container}_{instance}")


def prepare(log_path: str, index: str) -> tuple[int, int]:
    """The FIFOs of a new container instance, opened read-write for it (fds 1 and 2 to be),
    and its index entry. The caller closes both fds once the child has them."""
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    fds: list[int] = []
    try:
        for stream in STREAMS:
            path = fifo_path(log_path, stream)
            try:
                os.mkfifo(path, 0o600)
            except FileExistsError:
                pass
            fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
            fds.append(fd)
            try:
                fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
            except OSError:
                pass  # a smaller pipe only blocks the container sooner
        os.makedirs(index, exist_ok=True)
        try:
            os.symlink(log_path, index_entry(index, log_path))
        except FileExistsError:
            pass  # the same instance started again (adopted): its entry stands
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise
    return fds[0], fds[1]


class _Instance:
    def __init__(self, entry: str, log_path: str) -> None:
        self.entry, self.log_path = entry, log_path
        self.fds: dict[int, Splitter] = {}


class Collector:
    """Drains every container instance of one lab's index into its CRI log file."""

    def __init__(self, index: str) -> None:
        self.index = index
        self._epoll = select.epoll()
        self._streams: dict[int, _Instance] = {}
        self._known: set[str] = set()
        self._inotify = -1
        self._stop_r, self._stop_w = os.pipe()

    def start(self) -> threading.Thread:
        os.makedirs(self.index, exist_ok=True)
        libc = ctypes.CDLL(None, use_errno=True)
        self._inotify = libc.inotify_init1(IN_CLOEXEC | IN_NONBLOCK)
        if self._inotify < 0 or libc.inotify_add_watch(self._inotify, self.index.encode(), IN_CREATE | IN_MOVED_TO) < 0:
            raise OSError(ctypes.get_errno(), f"inotify on {self.index}")
        self._epoll.register(self._inotify, select.EPOLLIN)
        self._epoll.register(self._stop_r, select.EPOLLIN)
        for name in sorted(os.listdir(self.index)):  # what ran before this collector: adopt it
            self._adopt(name)
        thread = threading.Thread(target=self._run, name="container-logs", daemon=True)
        # Born with every signal blocked: the shim's SIGCHLD must reach its main thread only,
        # which blocks it while it forks (a child reaped before its start time is read).
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
        try:
            thread.start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        return thread

    def stop(self) -> None:
        """End the thread once the drains under way are written (the shim, before it exits)."""
        os.write(self._stop_w, b"x")

    def _run(self) -> None:
        try:
            self._loop()
        finally:
            for fd in [*self._streams, self._inotify, self._stop_r, self._stop_w]:
                os.close(fd)
            self._epoll.close()

    def _loop(self) -> None:
        while True:
            for fd, _ in self._epoll.poll():
                if fd == self._stop_r:
                    return
                try:
                    if fd == self._inotify:
                        self._new_entries()
                    elif fd in self._streams:
                        self._drain(fd)
                except OSError as exc:  # a full disk, say: the other containers' logs go on
                    print(f"container logs: {exc}", file=sys.stderr, flush=True)

    def _new_entries(self) -> None:
        try:
            data = os.read(self._inotify, 65536)
        except BlockingIOError:
            return
        pos = 0
        while pos < len(data):
            _, _, _, size = _EVENT.unpack_from(data, pos)
            name = data[pos + _EVENT.size : pos + _EVENT.size + size].rstrip(b"\0").decode()
            pos += _EVENT.size + size
            if name:
                self._adopt(name)

    def _adopt(self, name: str) -> None:
        entry = os.path.join(self.index, name)
        if entry in self._known:
            return
        try:
            log_path = os.readlink(entry)
        except OSError:
            return
        instance = _Instance(entry, log_path)
        for stream in STREAMS:
            try:
                fd = os.open(fifo_path(log_path, stream), os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            except OSError:
                continue  # gone with its pod, or drained already
            instance.fds[fd] = Splitter(stream)
            self._streams[fd] = instance
            self._epoll.register(fd, select.EPOLLIN)
        self._known.add(entry)
        if not instance.fds:
            self._forget(instance)
            return
        for fd in list(instance.fds):
            self._drain(fd)  # what waited in the pipe; EOF at once when nobody writes any more

    def _drain(self, fd: int) -> None:
        instance = self._streams[fd]
        splitter = instance.fds[fd]
        records: list[bytes] = []
        ended = False
        while True:
            try:
                data = os.read(fd, READ_SIZE)
            except BlockingIOError:
                break
            except OSError:
                data = b""
            if not data:
                ended = True  # every writer is gone: the container and all its children
                break
            records += splitter.feed(data, time.time_ns())
            if len(records) > 256:
                _append(instance.log_path, records)
                records = []
        records += splitter.flush(time.time_ns())
        _append(instance.log_path, records)
        if ended:
            self._epoll.unregister(fd)
            os.close(fd)
            del self._streams[fd]
            del instance.fds[fd]
            if not instance.fds:
                self._forget(instance)

    def _forget(self, instance: _Instance) -> None:
        """Both streams ended: the instance's pipes and index entry go, its log file stays."""
        for path in [fifo_path(instance.log_path, s) for s in STREAMS] + [instance.entry]:
            try:
                os.unlink(path)
            except OSError:
                pass
        self._known.discard(instance.entry)


def _append(path: str, records: list[bytes]) -> None:
    if not records:
        return
    try:
        # Opened for each batch: no descriptor per container beyond its two pipes, and a pod
        # deleted meanwhile (its directory gone) is not created again.
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
    except OSError as exc:
        if exc.errno not in (errno.ENOENT, errno.ENOTDIR):
            print(f"container logs: {path}: {exc}", file=sys.stderr, flush=True)
        return
    try:
        os.write(fd, b"".join(records))
    except OSError as exc:  # a full disk, say: the other containers' logs go on
        print(f"container logs: {path}: {exc}", file=sys.stderr, flush=True)
    finally:
        os.close(fd)


def wait_for_reader(log_path: str, own: tuple[int, ...]) -> None:
    """For a container's forked child that failed before its exec, after writing why to fd 2:
    let go of the pipes only once a collector holds their read end (see the module's doc).
    `own`: the child's read-write ends of them, which count as readers while open."""
    holds = [os.open(fifo_path(log_path, s), os.O_WRONLY | os.O_NONBLOCK) for s in STREAMS]
    for fd in (1, 2, *own):
        try:
            os.close(fd)
        except OSError:
            pass
    for stream, fd in zip(STREAMS, holds):
        os.close(os.open(fifo_path(log_path, stream), os.O_WRONLY))  # blocks until a reader
        os.close(fd)
