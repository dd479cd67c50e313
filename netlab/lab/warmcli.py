"""The warm CLI beside a lab's control plane: a process that has loaded what `apply` and
`delete` load (PyYAML, pydantic, every kind's model) and runs each command handed to it by the
CLI (`cli/resident.py`, which says how) in a fork of itself.

`python -m netlab.lab.warmcli CLUSTER FD`, started by the control plane (`Resident`) beside its
container shim; it exits when the control plane's end of the pipe FD closes.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys

from netlab import __version__, naming
from netlab.cli import resident
from netlab.cli.resident import MAX_REQUEST, package_dir


def serve(cluster: str, lifeline: int) -> None:
    """Load what the commands load, then fork a child per command until the lifeline's other
    end closes."""
    import gc
    import selectors

    _preload()
    snapshot = _files()
    os.set_inheritable(lifeline, False)
    path = naming.cli_socket_path(cluster)
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
    old_mask = os.umask(0o077)  # root's alone: a child runs as this process's user
    try:
        listener.bind(path)
    finally:
        os.umask(old_mask)
    bound = os.stat(path).st_ino
    listener.listen(64)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))  # and remove the socket
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, "listener")
    selector.register(lifeline, selectors.EVENT_READ, "lifeline")
    children: dict[int, tuple[socket.socket, int]] = {}  # pidfd -> (the CLI's connection, pid)
    gc.freeze()  # what was loaded stays shared with the children (no copy-on-write by the GC)
    try:
        while True:
            for key, _ in selector.select():
                if key.data == "lifeline":
                    return
                if key.data == "listener":
                    try:
                        conn, _ = listener.accept()
                    except OSError:
                        continue
                    mine = [selector.fileno(), listener.fileno(), lifeline, *children, *(c.fileno() for c, _ in children.values())]
                    child = _start(conn, snapshot, mine)
                    if child is None:
                        conn.close()
                        continue
                    pidfd, pid = child
                    children[pidfd] = (conn, pid)
                    selector.register(pidfd, selectors.EVENT_READ, "child")
                    selector.register(conn, selectors.EVENT_READ, pidfd)
                elif key.data == "child":  # the child ended: its status to the CLI
                    conn, pid = children.pop(key.fd)
                    selector.unregister(key.fd)
                    if conn.fileno() in selector.get_map():
                        selector.unregister(conn)
                    _, status = os.waitpid(pid, 0)
                    reply = {"signal": os.WTERMSIG(status)} if os.WIFSIGNALED(status) else {"exit": os.waitstatus_to_exitcode(status)}
                    try:
                        conn.send(json.dumps(reply).encode())
                    except OSError:
                        pass
                    conn.close()
                    os.close(key.fd)
                elif key.data in children and key.fileobj.fileno() in selector.get_map():
                    # The CLI's end closed: it was killed (a CLI waits for the status), and
                    # so is its child, as the command in it would have been.
                    selector.unregister(key.fileobj)
                    try:
                        signal.pidfd_send_signal(key.data, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
    finally:
        try:
            if os.stat(path).st_ino == bound:  # not a successor's
                os.unlink(path)
        except FileNotFoundError:
            pass
        listener.close()


def _preload() -> None:
    """What `apply` and `delete` load, and every kind's model — the lab's own config's too
    (`Lab.topo`: each `apply` built its models again, ~10 ms)."""
    import netlab.api.addressing  # noqa: F401
    import netlab.api.cluster  # noqa: F401
    import netlab.cli.app  # noqa: F401  typer, for the forms cli/fast.py leaves to it
    import netlab.cli.apply  # noqa: F401
    import netlab.cli.main  # noqa: F401
    import netlab.lab.commands  # noqa: F401
    from netlab.api import kinds, loader  # noqa: F401

    kinds.MODELLED_KINDS  # noqa: B018  imports every kind's model


def _files() -> dict[str, int]:
    """Every file of the netlab package and its modification time."""
    found = {}
    pending = [package_dir()]
    while pending:
        for entry in os.scandir(pending.pop()):
            if entry.is_dir(follow_symlinks=False):
                if entry.name != "__pycache__":
                    pending.append(entry.path)
            elif entry.name.endswith(".py"):
                found[entry.path] = entry.stat().st_mtime_ns
    return found


def _log(text: str) -> None:
    """A line in the control plane's log (this process's stderr), in its format."""
    import time

    print(time.strftime("%Y-%m-%d %H:%M:%S"), "warm CLI:", text, file=sys.stderr, flush=True)


def _peer(conn: socket.socket) -> tuple[int, int]:
    """(pid, uid) of the process at the other end."""
    import struct

    pid, uid, _ = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))
    return pid, uid


def _refusal(pid: int, uid: int, request: dict, snapshot: dict[str, int]) -> str | None:
    """Why this process must not run the request (the CLI then runs it itself), or None."""
    if uid != os.geteuid():
        return f"user {uid}"
    with open(f"/proc/{pid}/stat") as f:
        if int(f.read().rpartition(")")[2].split()[1]) == os.getpid():
            return "a child of this process"  # it would hand its command on for ever
    for kind in ("mnt", "net", "pid", "user", "uts", "ipc", "cgroup"):
        try:
            if os.stat(f"/proc/{pid}/ns/{kind}").st_ino != os.stat(f"/proc/self/ns/{kind}").st_ino:
                return f"another {kind} namespace"
        except FileNotFoundError:
            continue  # a namespace this kernel lacks
    root = os.stat(f"/proc/{pid}/root")
    mine = os.stat("/")
    if (root.st_dev, root.st_ino) != (mine.st_dev, mine.st_ino):
        return "another root"
    if (request.get("netlab"), request.get("version"), request.get("python")) != (package_dir(), __version__, sys.executable):
        return "another netlab"
    if _files() != snapshot:
        return "netlab changed since this process loaded it"
    return None


def _start(conn: socket.socket, snapshot: dict[str, int], inherited: list[int]) -> tuple[int, int] | None:
    """Fork the child for one CLI's request; (its pidfd, its pid), or None when refused."""
    import shlex

    try:
        data, fds, _, _ = socket.recv_fds(conn, MAX_REQUEST, 4)
    except OSError:
        return None
    try:
        request = json.loads(data)
        caller, uid = _peer(conn)
        why = "it sent no streams" if len(fds) != 4 else _refusal(caller, uid, request, snapshot)
        if why is not None:
            _log(f"pid {caller} runs its command itself: {why}")
            conn.send(b"{}")
            return None
        pid = os.fork()
        if pid == 0:
            try:
                for fd in inherited:
                    try:
                        os.close(fd)
                    except OSError:
                        pass
                _run_child(conn, request, fds)
            except BaseException:
                import traceback

                traceback.print_exc()  # to the control plane's log
            finally:
                os._exit(1)
        pidfd = os.pidfd_open(pid)
        _log(f"pid {pid} runs `netlab {shlex.join(request['argv'][1:])}` for pid {caller}")
        try:
            socket.send_fds(conn, [json.dumps({"pid": pid}).encode()], [pidfd])
        except OSError:
            os.kill(pid, signal.SIGKILL)  # the CLI is gone already
        return pidfd, pid
    except (OSError, ValueError):
        try:
            conn.send(b"{}")
        except OSError:
            pass
        return None
    finally:
        for fd in fds:
            os.close(fd)


def _run_child(conn: socket.socket, request: dict, fds: list[int]) -> None:
    """In the forked child: become the CLI that sent `request`, run its command, report."""
    import atexit
    import io
    import types

    resident.IN_WARM_CHILD = True
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGCHLD):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.pthread_sigmask(signal.SIG_SETMASK, set())
    for target, fd in enumerate(fds[:3]):
        os.dup2(fd, target)
    os.fchdir(fds[3])
    for fd in fds:
        os.close(fd)
    os.umask(request["umask"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.argv = request["argv"]
    main_module = types.ModuleType("__main__")
    main_module.__package__ = request.get("main_package")
    sys.modules["__main__"] = main_module
    for target, (name, mode) in enumerate((("stdin", "r"), ("stdout", "w"), ("stderr", "w"))):
        setup = request["streams"][target]
        if setup is None:
            stream = None
        else:
            encoding, errors, line_buffering = setup
            binary = io.open(target, mode + "b", closefd=False)
            stream = io.TextIOWrapper(binary, encoding=encoding, errors=errors, line_buffering=line_buffering)
        setattr(sys, name, stream)
        setattr(sys, f"__{name}__", stream)
    code = 0
    try:
        from netlab.cli.main import main

        main()
    except SystemExit as exc:
        if exc.code is None:
            code = 0
        elif isinstance(exc.code, int):
            code = exc.code
        else:
            print(exc.code, file=sys.stderr)
            code = 1
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    try:
        atexit._run_exitfuncs()
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except BrokenPipeError:
        code = 120  # what the interpreter exits with when its last flush fails
    except OSError:
        pass
    try:
        conn.send(json.dumps({"exit": code}).encode())
    except OSError:
        pass
    os._exit(code & 0xFF)


class Resident:
    """The control plane's handle on its warm process: started with it, and gone with it."""

    def __init__(self, cluster: str) -> None:
        self.cluster = cluster
        self._lifeline: int | None = None
        self._process = None

    def start(self) -> None:
        import subprocess

        mine, theirs = os.pipe()
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "netlab.lab.warmcli", self.cluster, str(mine)],
                pass_fds=(mine,),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                cwd="/",
            )
        except BaseException:
            os.close(theirs)
            raise
        finally:
            os.close(mine)
        self._lifeline = theirs

    def close(self) -> None:
        """Stop it: the lifeline closes, and it exits (its children finish on their own)."""
        if self._lifeline is not None:
            os.close(self._lifeline)
            self._lifeline = None
        if self._process is not None:
            try:
                self._process.wait(timeout=5)
            except Exception:
                self._process.kill()
                self._process.wait()
            self._process = None


def main(argv: list[str]) -> None:
    if len(argv) != 2:
        sys.exit("usage: python -m netlab.lab.warmcli CLUSTER FD")
    try:
        serve(argv[0], int(argv[1]))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main(sys.argv[1:])
