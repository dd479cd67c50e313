"""What every built-in server shares: where it binds, how it stops, how it binds its sockets.

Built-ins listen on every address of the pod (0.0.0.0), as the real images do. Unit tests
set NETLAB_BIND_ADDRESS=127.0.0.1 so a server started outside a pod stays on the loopback.
"""

from __future__ import annotations

import os
import signal
import socket
import sys

BIND_ADDRESS_ENV = "NETLAB_BIND_ADDRESS"


def bind_address() -> str:
    return os.environ.get(BIND_ADDRESS_ENV) or "0.0.0.0"


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


def wait_forever() -> None:
    """Park the main thread while daemon threads serve; signal handlers still run."""
    while True:
        signal.pause()


def udp_socket(address: str, port: int) -> socket.socket:
    # No SO_REUSEADDR: on Linux it would let a second UDP socket share the port silently.
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((address, port))
    return sock


def host_port(address: tuple) -> str:
    """A socket address the way Go's net.Addr.String() prints it: ip:port."""
    return f"{address[0]}:{address[1]}"
