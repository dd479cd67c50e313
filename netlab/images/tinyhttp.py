"""A small threaded HTTP/1.1 server for the built-in programs.

Why not http.server: labs run hundreds of these processes, and http.server drags in the email
package (about 7 MB more per process and twice the start-up time). This keeps to socketserver
and speaks what curl, wget, probes and Go clients send: request line, headers, a body by
Content-Length or chunked, keep-alive, HEAD, and `Expect: 100-continue`.

Responses look like Go net/http's (the real agnhost is a Go program): `Date`, `Content-Length`,
and `Content-Type: text/plain; charset=utf-8` for a non-empty body unless the handler sets one.
"""

from __future__ import annotations

import socketserver
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable
from http import HTTPStatus

from netlab.images import serving

MAX_LINE = 65536
MAX_HEADERS = 100


class Request:
    __slots__ = ("method", "target", "path", "query", "version", "headers", "body", "client")

    def __init__(self, method: str, target: str, version: str,
                 headers: list[tuple[str, str]], body: bytes, client: tuple) -> None:
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.body = body
        self.client = client  # (ip, port) of the caller
        parts = urllib.parse.urlsplit(target)
        self.path = parts.path or "/"
        self.query = parts.query

    def header(self, name: str) -> str:
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return ""

    def form_value(self, key: str) -> str:
        """Go's Request.FormValue: an urlencoded POST/PUT/PATCH body wins over the query."""
        if self.method in ("POST", "PUT", "PATCH") and self.header("Content-Type").startswith(
                "application/x-www-form-urlencoded"):
            body_values = urllib.parse.parse_qs(self.body.decode("utf-8", "replace"),
                                                keep_blank_values=True)
            if key in body_values:
                return body_values[key][0]
        values = urllib.parse.parse_qs(self.query, keep_blank_values=True)
        return values[key][0] if key in values else ""


class Response:
    __slots__ = ("status", "body", "headers")

    def __init__(self, status: int = 200, body: str | bytes = b"",
                 headers: tuple[tuple[str, str], ...] = ()) -> None:
        self.status = status
        self.body = body.encode() if isinstance(body, str) else body
        self.headers = headers


class Abort(Exception):
    """Drop the connection without an answer, as Go does when a handler panics."""


Handler = Callable[[Request], Response]


class BadRequest(Exception):
    pass


def reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"status code {status}"  # Go's http.StatusText fallback wording


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    """One thread per connection, so a slow client never blocks the others."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], handler: Handler, ssl_context=None) -> None:
        self.handler = handler
        self.ssl_context = ssl_context
        self.closing = False  # once set, every answer carries `Connection: close`
        self._busy = threading.Condition()
        self._in_flight = 0
        self.address_family = serving.family(address[0])
        super().__init__(address, _Connection)

    def server_bind(self) -> None:
        serving.dual_stack(self.socket)
        super().server_bind()

    def process_request(self, request, client_address) -> None:
        with serving.signals_blocked():  # the connection thread leaves signals to main
            super().process_request(request, client_address)

    def get_request(self):
        sock, client = super().get_request()
        client = (serving.unmapped(client[0]), client[1])
        if self.ssl_context is not None:
            # The handshake happens on the connection's own thread (see _Connection.setup).
            sock = self.ssl_context.wrap_socket(sock, server_side=True,
                                                do_handshake_on_connect=False)
        return sock, client

    def handle_error(self, request, client_address) -> None:
        # Only a failed TLS handshake gets here (handle() catches the rest); Go logs one line.
        print(f"http: TLS handshake error from {client_address[0]}:{client_address[1]}: "
              f"{sys.exc_info()[1]}", file=sys.stderr, flush=True)

    def begin(self) -> None:
        with self._busy:
            self._in_flight += 1

    def end(self) -> None:
        with self._busy:
            self._in_flight -= 1
            self._busy.notify_all()

    def wait_idle(self, timeout: float, allowance: int = 0) -> bool:
        """Wait until at most `allowance` requests are being served (the caller's own, say)."""
        deadline = time.monotonic() + timeout
        with self._busy:
            while self._in_flight > allowance:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._busy.wait(left)
        return True


class _Connection(socketserver.StreamRequestHandler):
    server: Server

    def setup(self) -> None:
        if self.server.ssl_context is not None:
            self.request.do_handshake()
        super().setup()

    def handle(self) -> None:
        try:
            while True:
                try:
                    request = self._read_request()
                except BadRequest:
                    self.wfile.write(b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; "
                                     b"charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request")
                    return
                if request is None:
                    return
                self.server.begin()
                try:
                    response = self.server.handler(request)
                    keep_alive = (_keep_alive(request) and not self.server.closing
                                  and _header(response, "Connection").lower() != "close")
                    self._write(request, response, keep_alive)
                finally:
                    self.server.end()
                if not keep_alive:
                    return
        except Abort:
            return
        except (ConnectionError, TimeoutError, OSError, EOFError):
            return  # the client went away; nothing to answer
        except Exception as exc:  # Go's server also survives a failing handler
            print(f"http: panic serving {self.client_address[0]}:{self.client_address[1]}: "
                  f"{exc!r}", file=sys.stderr, flush=True)

    def _read_request(self) -> Request | None:
        line = self.rfile.readline(MAX_LINE + 1)
        while line in (b"\r\n", b"\n"):  # RFC 9112: ignore blank lines before a request
            line = self.rfile.readline(MAX_LINE + 1)
        if not line:
            return None
        if len(line) > MAX_LINE:
            raise BadRequest
        parts = line.decode("latin-1").rstrip("\r\n").split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            raise BadRequest
        method, target, version = parts
        headers = []
        while True:
            raw = self.rfile.readline(MAX_LINE + 1)
            if len(raw) > MAX_LINE or len(headers) > MAX_HEADERS:
                raise BadRequest
            if raw in (b"\r\n", b"\n", b""):
                break
            name, sep, value = raw.decode("latin-1").partition(":")
            if not sep or not name or name != name.strip():
                raise BadRequest
            headers.append((name, value.strip()))
        request = Request(method, target, version, headers, b"", self.client_address)
        if request.header("Expect").lower() == "100-continue":
            self.wfile.write(f"{version} 100 Continue\r\n\r\n".encode())
        request.body = self._read_body(request)
        return request

    def _read_body(self, request: Request) -> bytes:
        if request.header("Transfer-Encoding").lower() == "chunked":
            return _read_chunked(self.rfile)
        length = request.header("Content-Length")
        if not length:
            return b""
        if not length.isdigit():
            raise BadRequest
        return self.rfile.read(int(length))

    def _write(self, request: Request, response: Response, keep_alive: bool) -> None:
        lines = [f"HTTP/1.1 {response.status} {reason(response.status)}"]
        names = {name.lower() for name, _ in response.headers}
        lines.extend(f"{name}: {value}" for name, value in response.headers)
        if response.body and "content-type" not in names:
            lines.append("Content-Type: text/plain; charset=utf-8")
        lines.append("Date: " + time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime()))
        lines.append(f"Content-Length: {len(response.body)}")
        if not keep_alive and "connection" not in names:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.wfile.write(head if request.method == "HEAD" else head + response.body)


def _header(response: Response, name: str) -> str:
    lowered = name.lower()
    return next((value for key, value in response.headers if key.lower() == lowered), "")


def _keep_alive(request: Request) -> bool:
    connection = request.header("Connection").lower()
    if request.version == "HTTP/1.0":
        return connection == "keep-alive"
    return connection != "close"


def _read_chunked(rfile) -> bytes:
    chunks = []
    while True:
        size_line = rfile.readline(MAX_LINE + 1)
        if not size_line:
            raise EOFError("unexpected EOF")
        try:
            size = int(size_line.split(b";")[0].strip(), 16)
        except ValueError:
            raise BadRequest from None
        if size == 0:
            while rfile.readline(MAX_LINE + 1) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(chunks)
        chunk = rfile.read(size)
        if len(chunk) < size:
            raise EOFError("unexpected EOF")
        chunks.append(chunk)
        rfile.readline(MAX_LINE + 1)


def fetch(sock, host: str, target: str) -> tuple[int, bytes]:
    """GET `target` over a connected socket, as Go's http.Get would; returns (status, body).

    Raises EOFError("EOF") when the server closes before answering (Go's wording), and lets
    socket errors and timeouts through for the caller to word.
    """
    request = (f"GET {target} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: Go-http-client/1.1\r\n"
               f"Connection: close\r\n\r\n")
    sock.sendall(request.encode("latin-1"))
    rfile = sock.makefile("rb")
    try:
        while True:
            status_line = rfile.readline(MAX_LINE + 1)
            if not status_line:
                raise EOFError("EOF")
            parts = status_line.decode("latin-1").split(" ", 2)
            if len(parts) < 2 or not parts[1].isdigit():
                raise EOFError(f"malformed HTTP response {status_line!r}")
            status = int(parts[1])
            headers = {}
            while True:
                line = rfile.readline(MAX_LINE + 1)
                if line in (b"\r\n", b"\n", b""):
                    break
                name, _, value = line.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            if 100 <= status < 200:
                continue  # an interim answer such as 100 Continue; the real one follows
            if status in (204, 304):
                return status, b""
            if headers.get("transfer-encoding", "").lower() == "chunked":
                return status, _read_chunked(rfile)
            if headers.get("content-length", "").isdigit():
                length = int(headers["content-length"])
                body = rfile.read(length)
                if len(body) < length:
                    raise EOFError("unexpected EOF")
                return status, body
            return status, rfile.read()
    finally:
        rfile.close()
