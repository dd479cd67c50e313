"""The container runtime's shim: a small process that forks the containers.

`fork` costs in proportion to the memory of the process that calls it. The control plane
holds the API models, pyroute2 and the store (~50-70 MiB); forking each container from it
took 7-10 ms here, most of it copying page tables the container throws away at once in its
`exec`. This process loads only `kernel/runtime.py` and `procs.py` (~10 MiB) and forks for the control plane,
as containerd's shim or runc's init do for the kubelet: 2-3 ms a container.

The control plane starts it (`Spawner.start`) and asks over a socket pair: a `runtime.Launch`
as JSON per message, each answered in order with the new process (pid and start time), the
copy that already runs (`runtime.AlreadyRunning`), or an error; a pass's requests are sent a
few ahead of the answers (`Spawner.launch_many`). It exits when the control plane's
end closes — a control plane killed with `kill -9` takes it along; the containers stay, as
they do when the control plane forks them itself (they are found again by pid and start
time). It reaps its children, so exited containers leave no zombies behind.

Like containerd's shim it also writes the containers' logs: a thread (`logcollector.Collector`)
drains every container's stdout and stderr pipes into its CRI log file, the lab's containers
whoever started them. A shim started again drains what the containers wrote meanwhile (it
waited in their pipes). The control plane starts it with itself (`Spawner.start`), not at
the first launch, so an adopted container's output never waits for a new pod.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
from collections import deque
from collections.abc import Iterator, Sequence

from netlab import naming
from netlab.errors import KernelError
from netlab.kernel import logcollector, procs, runtime

MAX_MESSAGE = 1 << 20
WINDOW = 16  # requests in flight: a few forks' worth of work ahead, far below the buffers


class _Gone(Exception):
    """The shim is not there to answer (it died)."""


def _outcome(reply: dict) -> runtime.LaunchOutcome:
    if "running" in reply:
        return runtime.AlreadyRunning(procs.ProcessRef(*reply["running"]))
    if "error" in reply:
        # The shim is fine; the fork or a file it opens failed, as it would have here.
        return OSError(reply["error"])
    return procs.ProcessRef(reply["pid"], reply["start"])


class Spawner:
    """The control plane's end: `launch_many` is `runtime.launch_many`, done by the shim. A
    shim that died is started again once; if that fails too, this process forks the
    containers itself (slower, never wrong)."""

    def __init__(self, label: str) -> None:
        self.label = label  # the lab's name, shown in `ps` beside the shim
        self._sock: socket.socket | None = None
        self._process: subprocess.Popen | None = None

    def start(self) -> None:
        """Start the shim now (it collects the containers' logs from then on)."""
        if self._sock is None:
            self._start()

    def _start(self) -> None:
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "netlab.kernel.spawner", str(theirs.fileno()), self.label],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
            )
        except BaseException:
            mine.close()
            raise
        finally:
            theirs.close()
        self._sock = mine

    def stream(self) -> "Stream":
        """Launches sent as they come, answered at the end (`Stream`): the kubelet's pod
        workers, without a thread."""
        return Stream(self)

    def launch_many(self, specs: Sequence[runtime.Launch]) -> Iterator[runtime.LaunchOutcome]:
        """`runtime.launch_many`, done by the shim: up to WINDOW requests are sent ahead, so the
        shim forks the next containers while the caller records the last one (a request at a
        time left either process idle while the other worked: a round trip per container).
        Requests the shim did not answer before dying are asked again of a new shim — a
        container it forked meanwhile holds its lock and is answered as already running."""
        done = 0
        for _ in range(2):
            try:
                for outcome in self._pipelined(specs[done:]):
                    done += 1
                    yield outcome
                return
            except _Gone:
                self.close()
        yield from runtime.launch_many(specs[done:])

    __call__ = launch_many  # a Spawner is a `runtime.Launcher`, and it streams (`stream`)

    def _largest(self) -> int:
        """The longest request one message carries: the socket's send buffer."""
        assert self._sock is not None
        return min(MAX_MESSAGE, self._sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)) - 4096

    def _pipelined(self, specs: Sequence[runtime.Launch]) -> Iterator[runtime.LaunchOutcome]:
        sent = received = 0
        # Per launch sent, in order: None while the shim's answer is due, or the outcome of a
        # launch too big for one message (this process forked it itself).
        due: deque[runtime.LaunchOutcome | None] = deque()
        try:
            if self._sock is None and specs:
                self._start()
            assert self._sock is not None or not specs
            largest = self._largest() if specs else 0
            while received < len(specs):
                # Both directions stay within the sockets' buffers: the shim never blocks
                # on a reply while this process blocks on a request.
                while sent < len(specs) and sum(d is None for d in due) < WINDOW:
                    request = json.dumps(specs[sent].to_wire()).encode()
                    if len(request) > largest:
                        # An environment of thousands of Service variables: started here, and
                        # most likely refused by the kernel's exec as on a node (E2BIG).
                        due.append(next(runtime.launch_many([specs[sent]])))
                    else:
                        self._sock.sendall(request)
                        due.append(None)
                    sent += 1
                head = due.popleft()
                if head is None:
                    data = self._sock.recv(MAX_MESSAGE)
                    if not data:
                        raise _Gone()
                    head = _outcome(json.loads(data))
                received += 1
                yield head
        except OSError as exc:
            raise _Gone() from exc
        finally:
            unanswered = sum(d is None for d in due)
            if unanswered and self._sock is not None:
                # Left before the end (the caller failed): read the answers still due, or
                # the next pass would take them for its own. What they started is found
                # by its lock then, and adopted.
                try:
                    for _ in range(unanswered):
                        self._sock.recv(MAX_MESSAGE)
                except OSError:
                    self.close()

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()  # the shim sees the end of its socket and exits
            self._sock = None
        if self._process is not None:
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None


class Stream:
    """A pass's launches, sent to the shim as they are submitted and answered in order at the
    end (`outcomes`) — without a thread. The kubelet submits a pod's containers as soon as its
    sandbox is made and goes on with the next sandbox; the answers wait in the socket until it
    looks. (A thread that waited on them woke at each answer, took the interpreter's lock and
    the core from the sandboxes in between: ~2.5 preemptions a pod on the critical path.)

    Nothing here blocks before `outcomes`: a request the socket has no room for waits here and
    goes with the next submit. A shim that died is replaced, and what it left unanswered asked
    again, as `Spawner.launch_many` does."""

    def __init__(self, spawner: Spawner) -> None:
        self._spawner = spawner
        self._specs: list[runtime.Launch] = []
        self._outcomes: list[runtime.LaunchOutcome | None] = []  # None while due
        self._unsent: deque[tuple[int, bytes]] = deque()
        self._due: deque[int] = deque()  # sent, in order: their answers come in that order
        self._gone = False

    def submit(self, specs: Sequence[runtime.Launch]) -> None:
        for spec in specs:
            index = len(self._specs)
            self._specs.append(spec)
            self._outcomes.append(None)
            if not self._gone:
                self._unsent.append((index, json.dumps(spec.to_wire()).encode()))
        self._pump(block=False)

    def outcomes(self) -> list[runtime.LaunchOutcome]:
        try:
            self._pump(block=True)
        finally:
            if self._due and not self._gone:
                # Left before the end (interrupted): the answers still due must not be taken
                # by the next pass for its own. What they started is found by its lock.
                self._spawner.close()
        missing = [i for i, outcome in enumerate(self._outcomes) if outcome is None]
        if missing:  # the shim died: a new one (or this process) starts them, in their turn
            self._spawner.close()
            for i, outcome in zip(missing, self._spawner.launch_many([self._specs[i] for i in missing]), strict=True):
                self._outcomes[i] = outcome
        return self._outcomes  # type: ignore[return-value]  # none is None any more

    def _pump(self, block: bool) -> None:
        """Send what the socket takes and read what was answered; with `block`, until every
        request is answered."""
        if self._gone:
            return
        try:
            if self._spawner._sock is None and self._unsent:
                self._spawner._start()
            sock = self._spawner._sock
            largest = self._spawner._largest() if self._unsent else 0
            while self._unsent or self._due:
                moved = False
                while self._unsent:
                    index, request = self._unsent[0]
                    if len(request) > largest:
                        # An environment of thousands of Service variables: started here, and
                        # most likely refused by the kernel's exec as on a node (E2BIG).
                        self._outcomes[index] = next(runtime.launch_many([self._specs[index]]))
                    else:
                        try:
                            sock.send(request, socket.MSG_DONTWAIT)
                        except BlockingIOError:
                            break
                        self._due.append(index)
                    self._unsent.popleft()
                    moved = True
                while self._due:
                    try:
                        data = sock.recv(MAX_MESSAGE, socket.MSG_DONTWAIT)
                    except BlockingIOError:
                        break
                    if not data:
                        raise _Gone()
                    self._outcomes[self._due.popleft()] = _outcome(json.loads(data))
                    moved = True
                if not block:
                    return
                if not moved:
                    select.select([sock] if self._due else [], [sock] if self._unsent else [], [])
        except (OSError, _Gone):
            self._gone = True  # `outcomes` asks again what is left
            self._unsent.clear()
            self._due.clear()


def _reap(signum: int, frame: object) -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def serve(sock: socket.socket) -> None:
    signal.signal(signal.SIGCHLD, _reap)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C meant for a CLI in the same group
    while True:
        data = sock.recv(MAX_MESSAGE)
        if not data:
            return
        request = json.loads(data)
        spec = runtime.Launch.from_wire(request)
        # No reaping between the fork and reading the child's start time: a container that
        # exits at once must still be recorded as the process it was.
        signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGCHLD])
        try:
            ref = runtime.launch(spec)
            reply: dict = {"pid": ref.pid, "start": ref.start_time}
        except runtime.AlreadyRunning as running:
            reply = {"running": [running.ref.pid, running.ref.start_time]}
        except OSError as exc:  # the fork or the files it opens
            reply = {"error": str(exc)}
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGCHLD])
        sock.sendall(json.dumps(reply).encode())


def main(argv: list[str]) -> None:
    """`python -m netlab.kernel.spawner FD LABEL`, as `Spawner.start` runs it."""
    fd = int(argv[0])
    # Containers must not inherit it: a copy held open by them would hide the control
    # plane's end closing, and keep a dead shim's socket alive.
    os.set_inheritable(fd, False)
    try:
        runtime.leave_pins()
    except (OSError, KernelError) as exc:  # still fork, from the host's mount namespace (slower at scale)
        print(f"netlab shim: cannot leave the host's mount namespace: {exc}", file=sys.stderr, flush=True)
    collector = logcollector.Collector(naming.container_logs_index(argv[1]))
    try:
        thread = collector.start()
    except OSError as exc:  # still fork: a container's output waits in its pipe for a next shim
        print(f"netlab shim: cannot collect container logs: {exc}", file=sys.stderr, flush=True)
        thread = None
    sock = socket.socket(fileno=fd)
    try:
        serve(sock)
    finally:
        sock.close()
        if thread is not None:  # what it read is written before the shim goes; the rest waits in the pipes
            collector.stop()
            thread.join(timeout=5)


if __name__ == "__main__":
    main(sys.argv[1:])
