"""What every built-in server shares: where it binds, how it stops, how it binds its sockets.

Built-ins listen on every address of the pod, as the real images do: Go's `:80` is one socket
on `[::]` that takes IPv4 too (IPV6_V6ONLY off), so a pod of a dual-stack lab answers on both
its addresses; without IPv6 in the kernel, `0.0.0.0`. A caller's IPv4 address arrives as
`::ffff:a.b.c.d` on such a socket and is printed as Go prints it, `a.b.c.d`. Unit tests set
NETLAB_BIND_ADDRESS=127.0.0.1 so a server started outside a pod stays on the loopback.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator

BIND_ADDRESS_ENV = "NETLAB_BIND_ADDRESS"


def bind_address() -> str:
    return os.environ.get(BIND_ADDRESS_ENV) or ("::" if ipv6_available() else "0.0.0.0")


def ipv6_available() -> bool:
    return socket.has_ipv6 and os.path.exists("/proc/net/if_inet6")


def family(address: str) -> int:
    return socket.AF_INET6 if ":" in address else socket.AF_INET


def dual_stack(sock: socket.socket) -> socket.socket:
    """An IPv6 socket that also takes IPv4 (as Go's listeners on `[::]` do)."""
    if sock.family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    return sock


def unmapped(ip: str) -> str:
    """`::ffff:10.244.1.3` -> `10.244.1.3`: an IPv4 caller of a dual-stack socket."""
    return ip[7:] if ip.startswith("::ffff:") and "." in ip else ip


def exit_now(code: int) -> None:
    """Leave at once, like Go's os.Exit: no cleanup, but the log lines written so far are kept."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


def exit_zero_on_termination() -> None:
    """SIGTERM (the kubelet stopping the container) and SIGINT end the program with status 0."""
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda _signum, _frame: exit_now(0))


@contextlib.contextmanager
def signals_blocked() -> Iterator[None]:
    """Block SIGTERM/SIGINT in this thread for a `with` block; threads started inside inherit it.

    The kernel hands a process signal to any thread that does not block it, and Python runs
    handlers only in the main thread: a signal landing on a worker would leave the main thread
    asleep in signal.pause(). Workers started this way leave every signal to the main thread.
    """
    with _signal_mask(signal.SIG_BLOCK):
        yield


@contextlib.contextmanager
def signals_unblocked() -> Iterator[None]:
    """The opposite, for starting a child process: children inherit the mask, and a shell run
    by /shell must stay killable by SIGTERM."""
    with _signal_mask(signal.SIG_UNBLOCK):
        yield


@contextlib.contextmanager
def _signal_mask(how: int) -> Iterator[None]:
    old = signal.pthread_sigmask(how, {signal.SIGTERM, signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def start_worker(target: Callable[..., object], *args: object) -> None:
    """A daemon thread that never receives SIGTERM/SIGINT (see signals_blocked)."""
    with signals_blocked():
        threading.Thread(target=target, args=args, daemon=True).start()


def wait_forever() -> None:
    """Park the main thread while daemon threads serve; signal handlers still run."""
    while True:
        signal.pause()


def udp_socket(address: str, port: int) -> socket.socket:
    # No SO_REUSEADDR: on Linux it would let a second UDP socket share the port silently.
    sock = dual_stack(socket.socket(family(address), socket.SOCK_DGRAM))
    sock.bind((address, port))
    return sock


def host_port(address: tuple) -> str:
    """A socket address the way Go's net.Addr.String() prints it: ip:port, [ipv6]:port."""
    ip = unmapped(address[0])
    return f"[{ip}]:{address[1]}" if ":" in ip else f"{ip}:{address[1]}"
