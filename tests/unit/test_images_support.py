"""Helpers for the built-in program tests: run a program on 127.0.0.1 and talk to it.

Every server here binds the loopback only (NETLAB_BIND_ADDRESS) and every probe goes to
127.0.0.1. Readiness is polled with a deadline, never slept for.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

LOOPBACK = "127.0.0.1"
DEADLINE = 10.0
REPO = Path(__file__).resolve().parents[2]
POD_ENV = {"NETLAB_POD_NAME": "pod-a", "NETLAB_POD_NAMESPACE": "team-a",
           "NETLAB_POD_IP": "10.244.1.7", "NETLAB_NODE_NAME": "node-a"}


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


class Running:
    """A built-in program started as `python -m netlab.images ...`, its output in a file."""

    def __init__(self, args: list[str], log_dir: Path, env: dict[str, str] | None = None):
        self.log_path = log_dir / f"program-{len(list(log_dir.iterdir()))}.log"
        self._log = open(self.log_path, "wb")
        full_env = {**os.environ, **POD_ENV, "NETLAB_BIND_ADDRESS": LOOPBACK, **(env or {})}
        self.process = subprocess.Popen([sys.executable, "-m", "netlab.images", *args],
                                        cwd=REPO, env=full_env, stdout=self._log,
                                        stderr=subprocess.STDOUT)

    def output(self) -> str:
        return self.log_path.read_text()

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def wait(self, timeout: float = DEADLINE) -> int:
        return self.process.wait(timeout)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(DEADLINE)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(DEADLINE)
        self._log.close()

    def wait_tcp(self, port: int) -> None:
        """Poll until the port accepts a connection (or fail with the program's output)."""
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"program exited {self.process.returncode}:\n"
                                     f"{self.output()}")
            try:
                socket.create_connection((LOOPBACK, port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.02)  # poll interval, not synchronisation
        raise AssertionError(f"port {port} never opened:\n{self.output()}")

    def wait_output(self, text: str) -> None:
        deadline = time.monotonic() + DEADLINE
        while text not in self.output():
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise AssertionError(f"never printed {text!r}:\n{self.output()}")
            time.sleep(0.02)  # poll interval, not synchronisation

    def wait_exit(self) -> int:
        return self.process.wait(DEADLINE)


def http_get(port: int, path: str, method: str = "GET") -> tuple[int, dict[str, str], str]:
    conn = http.client.HTTPConnection(LOOPBACK, port, timeout=DEADLINE)
    try:
        conn.request(method, path)
        response = conn.getresponse()
        body = response.read().decode()
        return response.status, dict(response.getheaders()), body
    finally:
        conn.close()


def udp_ask(port: int, payload: bytes, timeout: float = DEADLINE) -> tuple[bytes, str]:
    """Send one datagram and return (answer, our own ip:port)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.connect((LOOPBACK, port))
        sock.send(payload)
        local = "%s:%d" % sock.getsockname()
        return sock.recv(4096), local


def wait_udp(port: int, payload: bytes) -> bytes:
    """Poll a UDP server until it answers: the first datagrams may precede its bind."""
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        try:
            return udp_ask(port, payload, timeout=0.2)[0]
        except OSError:
            continue
    raise AssertionError(f"no UDP answer on port {port}")
