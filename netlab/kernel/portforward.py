"""`port-forward`'s plumbing: a TCP listener on the host's loopback, and for each connection a
socket born inside the pod's network namespace that connects to the pod's own loopback port,
as the kubelet's port-forward does (it dials localhost:PORT in the sandbox's netns). Nothing
leaves the host's 127.0.0.1 and the pod's namespace."""

from __future__ import annotations

import socket
import threading
from typing import Callable

from netlab.kernel import ns

LOOPBACK = "127.0.0.1"


def listen(port: int) -> socket.socket:
    """A listener on the host's 127.0.0.1 (port 0: any free port)."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((LOOPBACK, port))
    server.listen(16)
    return server


def dial_in_pod(netns_path: str, port: int, timeout: float = 5.0) -> socket.socket:
    """A TCP connection to 127.0.0.1:PORT inside the pod's network namespace."""
    with ns.entered(netns_path):
        conn = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    conn.settimeout(timeout)
    try:
        conn.connect((LOOPBACK, port))
    except OSError:
        conn.close()
        raise
    conn.settimeout(None)
    return conn


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def relay(client: socket.socket, upstream: socket.socket) -> None:
    """Copy both ways until both sides have finished; then close both."""
    back = threading.Thread(target=_pipe, args=(upstream, client), daemon=True)
    back.start()
    _pipe(client, upstream)
    back.join()
    client.close()
    upstream.close()


def serve(server: socket.socket, netns_path: str, port: int, on_connection: Callable[[], None], on_error: Callable[[str], None]) -> None:
    """Accept until interrupted (KeyboardInterrupt propagates); each connection in a thread."""
    while True:
        client, _ = server.accept()
        on_connection()
        threading.Thread(target=_handle, args=(client, netns_path, port, on_error), daemon=True).start()


def _handle(client: socket.socket, netns_path: str, port: int, on_error: Callable[[str], None]) -> None:
    try:
        upstream = dial_in_pod(netns_path, port)
    except OSError as exc:
        on_error(f"an error occurred forwarding {port}: {exc.strerror or exc}")
        client.close()
        return
    relay(client, upstream)
