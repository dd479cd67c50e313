"""The CLI's side of the warm CLI beside each lab's control plane: `apply` and `delete` run in a
fork of it.

Before an `apply` can validate anything, a fresh interpreter spends ~0.2 s importing PyYAML,
pydantic and building the API's models — two thirds of a 100-pod `apply -f` when the lab is
idle, and all of it on the critical path. Like kubectl handing a request to a resident
apiserver (or Android's zygote handing an app a pre-loaded runtime), the control plane keeps a
small process that has loaded all of that once (`lab/warmcli.py`), and the CLI hands it the
command:

- the CLI (`forward`, here) connects to the lab's socket and sends its command line, environment,
  umask and how its standard streams are set up, with its stdin, stdout, stderr and working
  directory as file descriptors (SCM_RIGHTS);
- the warm process forks; the child takes those descriptors as its own 0, 1, 2 and cwd, that
  environment and argv, and runs the same `netlab.cli.main.main` the CLI would have run —
  same parser, same output, same exit code, the same lab lock taken in the same order;
- the CLI gets the child as a pidfd: Ctrl-C, SIGTERM and SIGHUP are passed on; the exit code
  comes back when the child ends (or the signal that ended it, which the CLI then dies of).
  A CLI killed with `kill -9` takes its child along (the warm process sees its end close), as
  a killed in-process command stops where it was.

Nothing depends on it: with no warm process (the lab's first `apply`, a control plane
starting, `NETLAB_RESIDENT=0`), one of another netlab or Python, or a caller in other
namespaces or of another user, the CLI runs the command itself, as before. The warm process
refuses work once any file of the netlab package changed under it (an upgrade, an edit), and
exits when the control plane's end of its lifeline closes (`cluster delete`, `reset`, a
`kill -9` of the control plane).

This module is the CLI's side, cheap to import (os, sys, json, socket, signal): every `apply`
loads it. The warm process is `lab/warmcli.py`.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys

from netlab import __version__, naming

DISABLE_ENV = "NETLAB_RESIDENT"  # "0": always run in this process
MAX_REQUEST = 1 << 20  # a command line and its environment
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
IN_WARM_CHILD = False  # set in the warm process's child, which must run the command, not hand it on


def cluster_of(args: list[str]) -> str:
    """The lab a command line names (`--cluster`), as far as finding its warm process goes:
    the child parses the command line properly, and any lab's warm process would do."""
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--cluster" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--cluster="):
            return arg.partition("=")[2]
    return naming.default_cluster_name()


def package_dir() -> str:
    """The directory of the netlab package this process runs."""
    return os.path.dirname(os.path.dirname(os.path.realpath(__file__)))


def forward(cluster: str) -> int | None:
    """Run this process's command line in the lab's warm process; its exit code, or None when
    there is none to take it (the caller then runs the command itself)."""
    if IN_WARM_CHILD or os.environ.get(DISABLE_ENV) == "0":
        return None
    try:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
    except OSError:
        return None
    cwd = None
    with sock:
        try:
            sock.connect(naming.cli_socket_path(cluster))
            cwd = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            for fd in (0, 1, 2):
                os.fstat(fd)  # a closed stream: the child could not stand in for us
            socket.send_fds(sock, [json.dumps(_request()).encode()], [0, 1, 2, cwd])
            data, fds, _, _ = socket.recv_fds(sock, MAX_REQUEST, 1)
        except OSError:
            return None  # none listens, or it went away: run here
        finally:
            if cwd is not None:
                os.close(cwd)
        reply = json.loads(data) if data else {}
        if "pid" not in reply or len(fds) != 1:
            for fd in fds:
                os.close(fd)
            return None  # refused (another netlab, another namespace): run here
        return _wait_for(sock, fds[0])


def _request() -> dict:
    mask = os.umask(0)
    os.umask(mask)
    streams = []
    for stream in (sys.stdin, sys.stdout, sys.stderr):
        streams.append(
            None
            if stream is None
            else [getattr(stream, "encoding", None), getattr(stream, "errors", None), bool(getattr(stream, "line_buffering", False))]
        )
    return {
        "argv": sys.argv,
        # How click names the program in its usage lines ("netlab", "python -m netlab").
        "main_package": getattr(sys.modules.get("__main__"), "__package__", None),
        "env": dict(os.environ),
        "umask": mask,
        "streams": streams,
        "netlab": package_dir(),
        "version": __version__,
        "python": sys.executable,
    }


def _wait_for(sock: socket.socket, pidfd: int) -> int:
    """Pass our signals on to the child until it ends; its exit code (or its fatal signal,
    which this process then dies of, so a shell sees what it would have)."""

    def pass_on(signum, frame) -> None:
        try:
            signal.pidfd_send_signal(pidfd, signum)
        except ProcessLookupError:
            pass

    previous = {sig: signal.signal(sig, pass_on) for sig in FORWARDED}
    try:
        while True:
            data = sock.recv(4096)  # a signal's handler runs, then the read goes on (PEP 475)
            if not data:
                sys.stderr.write("error: the command's process ended without an exit status\n")
                return 1
            reply = json.loads(data)
            if "signal" in reply:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)
                signal.signal(reply["signal"], signal.SIG_DFL)
                os.kill(os.getpid(), reply["signal"])
                return 128 + reply["signal"]  # a signal this process cannot die of
            if "exit" in reply:
                return int(reply["exit"])
    finally:
        os.close(pidfd)
