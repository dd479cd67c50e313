"""One short connection from inside a pod's network namespace: the probe of `policy matrix`.

The socket is created with the calling thread inside the pod's namespace (`ns.entered`), so it
belongs to the pod — its source address is the pod IP and its packets cross the pod's veth and
the node's FORWARD chain exactly like the pod's own traffic — and then used from here. That is
what `kubectl exec … agnhost connect` does in upstream's netpol e2e tests, without starting a
process per probe, so many probes can run at once on threads.

Results use agnhost connect's words: "" when connected, TIMEOUT, REFUSED or OTHER: ….
"""

from __future__ import annotations

import errno
import socket
from dataclasses import dataclass

from netlab.kernel import ns

# netexec's UDP protocol: a "hostname" datagram is answered with the pod's name.
UDP_QUERY = b"hostname\n"


@dataclass(frozen=True)
class ProbeResult:
    connected: bool
    detail: str = ""


def connect(netns_path: str, ip: str, port: int, protocol: str, timeout: float) -> ProbeResult:
    kind = socket.SOCK_STREAM if protocol.upper() == "TCP" else socket.SOCK_DGRAM
    with ns.entered(netns_path):
        sock = socket.socket(socket.AF_INET6 if ":" in ip else socket.AF_INET, kind)
    with sock:
        sock.settimeout(timeout)
        try:
            sock.connect((ip, port))
            if kind == socket.SOCK_DGRAM:
                sock.send(UDP_QUERY)
                if not sock.recv(1024):
                    return ProbeResult(False, "OTHER: no data received")
        except TimeoutError:
            return ProbeResult(False, "TIMEOUT")
        except ConnectionRefusedError:
            return ProbeResult(False, "REFUSED")
        except OSError as exc:
            if exc.errno == errno.ETIMEDOUT:
                return ProbeResult(False, "TIMEOUT")
            return ProbeResult(False, f"OTHER: {exc.strerror or exc}")
    return ProbeResult(True)
