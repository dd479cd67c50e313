"""`agnhost netexec`'s raw-socket side: the clients /dial uses and the UDP/SCTP servers.

dial_http, dial_udp and dial_sctp make one /dial try each and return upstream's error texts;
command_answer is the `hostname` / `echo` / `clientip` protocol that serve_udp and serve_sctp
answer. netexec.main binds the sockets and starts these servers.
"""

from __future__ import annotations

import socket
import time

from netlab.images import serving, tinyhttp
from netlab.images.agnhost import golang
from netlab.images.agnhost.golang import log

DIAL_TIMEOUT = 5.0  # seconds; upstream's http.Client timeout and UDP/SCTP read deadline


def hostname() -> str:
    name = socket.gethostname()
    log(f"hostname: {name}")
    return name


def family(ip: str) -> int:
    return socket.AF_INET6 if ":" in ip else socket.AF_INET


def dial_http(payload: str, address: tuple[str, int]) -> tuple[str, str]:
    """One GET of http://<address>/<request>; returns (body, "") or ("", Go's error text)."""
    host = golang.join_host_port(*address)
    target = "/" + payload.partition("#")[0].replace(" ", "%20")
    prefix = f'Get "http://{host}{target}": '
    timed_out = "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
    deadline = time.monotonic() + DIAL_TIMEOUT
    try:
        sock = socket.create_connection(address, timeout=DIAL_TIMEOUT)
    except TimeoutError:
        return "", prefix + timed_out
    except OSError as exc:
        return "", prefix + f"dial tcp {host}: connect: {golang.errno_text(exc)}"
    local = serving.host_port(sock.getsockname())
    try:
        sock.settimeout(max(deadline - time.monotonic(), 0.001))
        _, body = tinyhttp.fetch(sock, host, target)
    except TimeoutError:
        return "", prefix + timed_out
    except EOFError as exc:
        return "", prefix + str(exc)
    except OSError as exc:
        return "", prefix + f"read tcp {local}->{host}: read: {golang.errno_text(exc)}"
    finally:
        sock.close()
    # Go reads the body whatever the status; a 500 answer is still a "response".
    return body.decode("utf-8", "replace"), ""


def dial_udp(payload: str, address: tuple[str, int]) -> tuple[str, str]:
    remote = golang.join_host_port(*address)
    with socket.socket(family(address[0]), socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(address)
        except OSError as exc:
            return "", f"udp dial failed. err:dial udp {remote}: connect: {golang.errno_text(exc)}"
        local = serving.host_port(sock.getsockname())
        try:
            sock.send(payload.encode())
        except OSError as exc:
            return "", (f"udp connection write failed. err:write udp {local}->{remote}: "
                        f"write: {golang.errno_text(exc)}")
        sock.settimeout(DIAL_TIMEOUT)
        try:
            answer = sock.recv(2048)
        except TimeoutError:
            reason = "i/o timeout"
        except OSError as exc:
            reason = f"read: {golang.errno_text(exc)}"
        else:
            if answer:
                return answer.decode("utf-8", "replace"), ""
            return "", "reading from udp connection failed. err:'<nil>'"
    return "", f"reading from udp connection failed. err:'read udp {local}->{remote}: {reason}'"


def dial_sctp(payload: str, address: tuple[str, int]) -> tuple[str, str]:
    try:
        sock = socket.socket(family(address[0]), socket.SOCK_STREAM, socket.IPPROTO_SCTP)
    except OSError as exc:
        return "", f"sctp dial failed. err:{golang.errno_text(exc)}"
    with sock:
        try:
            sock.connect(address)
        except OSError as exc:
            return "", f"sctp dial failed. err:{golang.errno_text(exc)}"
        try:
            sock.sendall(payload.encode())
        except OSError as exc:
            return "", f"sctp connection write failed. err:{golang.errno_text(exc)}"
        sock.settimeout(DIAL_TIMEOUT)
        try:
            answer = sock.recv(1024)
        except TimeoutError:
            return "", "reading from sctp connection failed. err:'i/o timeout'"
        except OSError as exc:
            return "", f"reading from sctp connection failed. err:'{golang.errno_text(exc)}'"
    if not answer:
        return "", "reading from sctp connection failed. err:'EOF'"
    return answer.decode("utf-8", "replace"), ""


def command_answer(text: bytes, client: str, transport: str) -> bytes | None:
    """The UDP/SCTP protocol: `hostname`, `echo <msg>`, `clientip`; anything else is ignored.

    As upstream, the text is trimmed and lower-cased first, so `echo Hello` answers `hello`.
    """
    received = text.decode("utf-8", "replace").strip().lower()
    if received == "hostname":
        log(f"Sending {transport} hostName response")
        return hostname().encode()
    if received.startswith("echo "):
        message = received.split(" ", 1)[1]
        log(f"Echoing {message} to {transport} client {client}")
        return message.encode()
    if received == "clientip":
        log(f"Sending clientip back to {transport} client {client}")
        return client.encode()
    if received:
        log(f"Unknown {transport} command received from {client}: {received}")
    return None


def serve_udp(sock: socket.socket) -> None:
    while True:
        data, sender = sock.recvfrom(2048)
        client = serving.host_port(sender)
        answer = command_answer(data, client, "UDP")
        if answer is not None:
            sock.sendto(answer, sender)


def serve_sctp(listener: socket.socket) -> None:
    while True:
        conn, sender = listener.accept()
        with conn:
            client = serving.host_port(sender)
            answer = command_answer(conn.recv(1024), client, "SCTP")
            if answer is not None:
                conn.sendall(answer)


def udp_addresses(text: str) -> list[str]:
    """--udp-listen-addresses: deduplicated and sorted, as upstream's string set."""
    if not text:
        return [serving.bind_address()]
    for address in text.split(","):
        try:
            socket.inet_pton(family(address), address)
        except OSError:
            golang.fatal(f"parseAddress: invalid address {address}")
    return sorted(set(text.split(",")))
