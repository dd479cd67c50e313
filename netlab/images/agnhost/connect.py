"""`agnhost connect <host:port>`: try one connection and say how it failed.

As test/images/agnhost/connect/connect.go: silent exit 0 on success; otherwise exit 1 with a
line on stderr that tests match on its prefix: UNKNOWN, TIMEOUT, DNS, REFUSED or OTHER.
NetworkPolicy lessons use it to tell "dropped" (TIMEOUT) from "rejected" (REFUSED).
"""

from __future__ import annotations

import argparse
import errno
import socket
import sys

from netlab.images.agnhost import golang


def parse_args(argv: list[str]):
    parser = golang.CobraParser(prog="agnhost connect",
                                description="Attempts a TCP, UDP or SCTP connection and "
                                            "returns useful errors")
    parser.add_argument("dest", nargs="*", metavar="host:port")
    parser.add_argument("--timeout", type=_duration, default=0,
                        help="Maximum time before returning an error")
    parser.add_argument("--protocol", default="tcp",
                        help="The protocol to use to perform the connection, can be tcp, udp "
                             "or sctp")
    parser.add_argument("--udp-data", default="hostname", help="The UDP payload send to the "
                                                               "server")
    options = parser.parse_args(argv)
    if len(options.dest) != 1:
        parser.error(f"accepts 1 arg(s), received {len(options.dest)}")
    return options


def _duration(text: str) -> int:
    try:
        return golang.parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def fail(message: str) -> int:
    sys.stderr.write(message + "\n")
    return 1


def split_host_port(dest: str) -> tuple[str, str]:
    """net.SplitHostPort, with its error wording."""
    if dest.startswith("["):
        host, sep, rest = dest[1:].partition("]")
        if not sep or not rest.startswith(":"):
            raise ValueError(f"address {dest}: missing port in address")
        return host, rest[1:]
    if ":" not in dest:
        raise ValueError(f"address {dest}: missing port in address")
    host, _, port = dest.rpartition(":")
    if ":" in host:
        raise ValueError(f"address {dest}: too many colons in address")
    return host, port


def connect_tcp(dest: str, timeout: float | None) -> int:
    try:
        host, port = split_host_port(dest)
    except ValueError as exc:
        return fail(f"UNKNOWN: {exc}")
    try:
        address = golang.resolve(host, port, "tcp")
    except LookupError as exc:
        return fail(f"DNS: {exc}")
    try:
        socket.create_connection(address, timeout=timeout).close()
    except TimeoutError:
        return fail("TIMEOUT")
    except ConnectionRefusedError:
        return fail("REFUSED")
    except OSError as exc:
        if exc.errno == errno.ETIMEDOUT:  # the kernel gave up on SYNs: still a timeout
            return fail("TIMEOUT")
        return fail(f"OTHER: dial tcp {golang.join_host_port(*address)}: connect: "
                    f"{golang.errno_text(exc)}")
    return 0


def connect_udp(dest: str, timeout: float | None, data: str) -> int:
    try:
        host, port = split_host_port(dest)
        address = golang.resolve(host, port, "udp")
    except (ValueError, LookupError) as exc:
        return fail(f"DNS: {exc}")
    remote = golang.join_host_port(*address)
    with socket.socket(socket.AF_INET6 if ":" in address[0] else socket.AF_INET,
                       socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(address)
        except OSError as exc:
            return fail(f"OTHER: dial udp {remote}: connect: {golang.errno_text(exc)}")
        local = f"{sock.getsockname()[0]}:{sock.getsockname()[1]}"
        sock.settimeout(timeout)
        operation = "write"
        try:
            sock.send(f"{data}\n".encode())
            operation = "read"
            answer = sock.recv(1024)
        except TimeoutError:
            return fail(f"TIMEOUT: {operation} udp {local}->{remote}: i/o timeout")
        except OSError as exc:
            text = f"{operation} udp {local}->{remote}: {operation}: {golang.errno_text(exc)}"
            kind = "REFUSED" if exc.errno == errno.ECONNREFUSED else "UNKNOWN"
            return fail(f"{kind}: {text}")
    if not answer:
        return fail("OTHER: No data received from the server. Cannot guarantee the server "
                    "received the request.")
    return 0


def connect_sctp(dest: str, timeout: float | None) -> int:
    try:
        host, port = split_host_port(dest)
        address = golang.resolve(host, port, "tcp")
    except (ValueError, LookupError) as exc:
        return fail(f"DNS: {exc}")
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_SCTP) as sock:
            sock.settimeout(timeout)
            sock.connect(address)
    except TimeoutError:
        return fail("TIMEOUT")
    except OSError as exc:
        return fail(f"OTHER: {golang.errno_text(exc)}")
    return 0


def main(argv: list[str]) -> int:
    options = parse_args(argv)
    dest = options.dest[0]
    # As upstream: a zero --timeout means no limit of its own (the kernel's still applies).
    timeout = options.timeout / 1e9 if options.timeout > 0 else None
    if options.protocol in ("", "tcp"):
        return connect_tcp(dest, timeout)
    if options.protocol == "udp":
        return connect_udp(dest, timeout, options.udp_data)
    if options.protocol == "sctp":
        return connect_sctp(dest, timeout)
    # Upstream's fmt.Fprint puts the protocol after the newline, without a space.
    sys.stderr.write(f"Unsupported protocol\n{options.protocol}")
    return 1
