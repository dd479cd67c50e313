"""The control plane's side of the runtime shim's protocol (kernel/spawner.py): requests sent a
window ahead of the answers, answers matched to requests in order, a pass left half-way not
leaving its answers to the next one, a dead shim replaced. The shim here is a thread that
answers as the real one does (its forking is the integration tests' part)."""

from __future__ import annotations

import json
import socket
import threading

import pytest

from netlab.kernel import procs, runtime, spawner


def spec(name: str) -> runtime.Launch:
    return runtime.Launch(argv=(name,), env={}, netns="", utsns="", binds=(), log_path="", exit_path="")


class FakeShim:
    """Answers each request with a pid of its own count; records the most requests it held
    unanswered (how far ahead the control plane sent)."""

    def __init__(self, sock: socket.socket, die_after: int | None = None) -> None:
        self.sock, self.die_after, self.asked = sock, die_after, []
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        while True:
            data = self.sock.recv(spawner.MAX_MESSAGE)
            if not data:
                return
            self.asked.append(json.loads(data)["argv"][0])
            if self.die_after is not None and len(self.asked) > self.die_after:
                self.sock.close()  # dies before answering this one
                return
            reply = {"running": [7, 7]} if self.asked[-1] == "running" else {"pid": len(self.asked), "start": 1}
            self.sock.sendall(json.dumps(reply).encode())


def with_shim(plane: spawner.Spawner, **kwargs) -> FakeShim:
    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    plane._sock = mine
    return FakeShim(theirs, **kwargs)


def test_answers_come_in_the_order_of_the_requests():
    plane = spawner.Spawner("t")
    shim = with_shim(plane)
    names = [f"c{i}" for i in range(3 * spawner.WINDOW + 1)]
    outcomes = list(plane.launch_many([spec(n) for n in names]))
    assert outcomes == [procs.ProcessRef(i + 1, 1) for i in range(len(names))]
    assert shim.asked == names


def test_a_container_that_already_runs_is_answered_as_such():
    plane = spawner.Spawner("t")
    with_shim(plane)
    first, second = plane.launch_many([spec("a"), spec("running")])
    assert first == procs.ProcessRef(1, 1)
    assert isinstance(second, runtime.AlreadyRunning) and second.ref == procs.ProcessRef(7, 7)


def test_a_pass_left_half_way_does_not_hand_its_answers_to_the_next():
    plane = spawner.Spawner("t")
    with_shim(plane)
    launched = plane.launch_many([spec(f"a{i}") for i in range(10)])
    assert next(launched) == procs.ProcessRef(1, 1)
    launched.close()  # the caller failed while recording the first
    assert list(plane.launch_many([spec("b")])) == [procs.ProcessRef(11, 1)]


def test_what_a_dead_shim_left_unanswered_is_asked_again(monkeypatch):
    plane = spawner.Spawner("t")
    with_shim(plane, die_after=2)
    replacement: list[FakeShim] = []
    monkeypatch.setattr(plane, "_start", lambda: replacement.append(with_shim(plane)))
    names = [f"c{i}" for i in range(5)]
    outcomes = list(plane.launch_many([spec(n) for n in names]))
    assert len(outcomes) == len(names) and len(replacement) == 1
    # The answers it sent before dying may be lost with it (a socket closed with requests
    # unread resets the connection): those are asked again too — safe, as a container it
    # started holds its lock and comes back as already running.
    answered = len(names) - len(replacement[0].asked)
    assert answered <= 2 and replacement[0].asked == names[answered:]


def test_a_launch_too_big_for_one_message_is_started_here_in_its_turn(monkeypatch):
    """Thousands of Service variables make a request larger than the socket carries: that one
    is forked by the control plane itself, and the answers still come in order."""
    plane = spawner.Spawner("t")
    shim = with_shim(plane)
    local = procs.ProcessRef(99, 9)
    monkeypatch.setattr(runtime, "launch_many", lambda specs: iter([local for _ in specs]))
    big = runtime.Launch(argv=("big",), env={f"V{i}": "x" * 100 for i in range(4000)}, netns="", utsns="", binds=(), log_path="", exit_path="")
    outcomes = list(plane.launch_many([spec("a"), big, spec("b")]))
    assert outcomes == [procs.ProcessRef(1, 1), local, procs.ProcessRef(2, 1)]
    assert shim.asked == ["a", "b"]


# The pod workers' stream: launches submitted as sandboxes are made, answered at the end.


def test_a_stream_answers_in_the_order_of_its_submits():
    plane = spawner.Spawner("t")
    shim = with_shim(plane)
    stream = plane.stream()
    names = [f"c{i}" for i in range(40)]
    for i in range(0, len(names), 3):  # a pod's containers at a time
        stream.submit([spec(n) for n in names[i : i + 3]])
    stream.submit([])
    assert stream.outcomes() == [procs.ProcessRef(i + 1, 1) for i in range(len(names))]
    assert shim.asked == names


def test_a_stream_never_waits_for_the_shim_before_its_outcomes():
    """The kubelet goes on with the next sandbox: a submit returns even when the shim takes
    nothing (its socket full); what did not fit goes later."""
    plane = spawner.Spawner("t")
    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    plane._sock = mine  # nobody reads `theirs`
    stream = plane.stream()
    many = [runtime.Launch(argv=(f"c{i}",), env={"V": "x" * 4000}, netns="", utsns="", binds=(), log_path="", exit_path="") for i in range(200)]
    stream.submit(many)  # ~800 KB: more than the socket holds
    assert stream._unsent, "everything fitted: the test did not fill the socket"
    assert len(stream._due) + len(stream._unsent) == len(many)
    mine.close()
    theirs.close()


def test_what_a_dead_shim_left_of_a_stream_is_asked_again(monkeypatch):
    plane = spawner.Spawner("t")
    with_shim(plane, die_after=2)
    replacement: list[FakeShim] = []
    monkeypatch.setattr(plane, "_start", lambda: replacement.append(with_shim(plane)))
    stream = plane.stream()
    names = [f"c{i}" for i in range(5)]
    for n in names:
        stream.submit([spec(n)])
    outcomes = stream.outcomes()
    assert len(outcomes) == len(names) and all(isinstance(o, procs.ProcessRef) for o in outcomes)
    assert len(replacement) == 1
    answered = len(names) - len(replacement[0].asked)
    assert answered <= 2 and replacement[0].asked == names[answered:]


def test_a_stream_starts_a_launch_too_big_for_one_message_here_in_its_turn(monkeypatch):
    plane = spawner.Spawner("t")
    shim = with_shim(plane)
    local = procs.ProcessRef(99, 9)
    monkeypatch.setattr(runtime, "launch_many", lambda specs: iter([local for _ in specs]))
    big = runtime.Launch(argv=("big",), env={f"V{i}": "x" * 100 for i in range(4000)}, netns="", utsns="", binds=(), log_path="", exit_path="")
    stream = plane.stream()
    stream.submit([spec("a"), big])
    stream.submit([spec("b")])
    assert stream.outcomes() == [procs.ProcessRef(1, 1), local, procs.ProcessRef(2, 1)]
    assert shim.asked == ["a", "b"]


def test_a_stream_left_half_way_does_not_hand_its_answers_to_the_next_pass(monkeypatch):
    """Interrupted while waiting for the answers: the shim is let go (a new one answers the
    next pass), rather than the next pass reading this one's answers as its own."""
    plane = spawner.Spawner("t")
    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    plane._sock = mine  # a shim that does not answer yet
    stream = plane.stream()
    stream.submit([spec("a")])

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(spawner.select, "select", interrupted)
    with pytest.raises(KeyboardInterrupt):
        stream.outcomes()
    assert plane._sock is None
    assert theirs.recv(spawner.MAX_MESSAGE)  # the request it had
    assert theirs.recv(spawner.MAX_MESSAGE) == b""  # and then its end closed
    theirs.close()
