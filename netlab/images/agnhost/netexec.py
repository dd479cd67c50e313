"""`agnhost netexec`: HTTP, UDP (and SCTP) servers that Kubernetes' own network e2e tests use.

Wire-compatible with test/images/agnhost/netexec/netexec.go: the same endpoints, parameters,
status codes, body text and JSON, including upstream's quirks (each marked "as upstream").
Not carried over: `/upload` (answers 501 here).

This module holds the entry point (flags, main) and the HTTP endpoints; the /dial clients and
the UDP/SCTP servers are in netexec_sockets.
"""

from __future__ import annotations

import signal
import socket
import threading
import time

from netlab.images import serving, tinyhttp
from netlab.images.agnhost import golang
from netlab.images.agnhost.golang import log
from netlab.images.agnhost.netexec_sockets import (
    dial_http,
    dial_sctp,
    dial_udp,
    family,
    hostname,
    serve_sctp,
    serve_udp,
    udp_addresses,
)

SHELL = "/bin/sh"
PLAIN_ERROR = (("Content-Type", "text/plain; charset=utf-8"), ("X-Content-Type-Options", "nosniff"))


def parse_args(argv: list[str]):
    parser = golang.CobraParser(
        prog="agnhost netexec",
        description="Creates HTTP(S), UDP, and (optionally) SCTP servers with various endpoints")
    parser.add_argument("--http-port", type=int, default=8080, help="HTTP Listen Port")
    parser.add_argument("--udp-port", type=int, default=8081, help="UDP Listen Port")
    parser.add_argument("--sctp-port", type=int, default=-1, help="SCTP Listen Port")
    parser.add_argument("--tls-cert-file", default="", help="x509 certificate for HTTPS")
    parser.add_argument("--tls-private-key-file", default="", help="x509 private key")
    parser.add_argument("--http-override", default="",
                        help="Override the HTTP handler to always respond as if it were a GET "
                             "with this path & params")
    parser.add_argument("--udp-listen-addresses", default="",
                        help="A comma separated list of ip addresses the udp servers listen from")
    parser.add_argument("--delay-shutdown", type=int, default=0,
                        help="Number of seconds to delay shutdown when receiving SIGTERM.")
    return parser.parse_args(argv)


def http_error(message: str, status: int) -> tinyhttp.Response:
    """Go's http.Error."""
    return tinyhttp.Response(status, message + "\n", PLAIN_ERROR)


def client_text(request: tinyhttp.Request) -> str:
    # A request built for --http-override has no caller, like Go's http.NewRequest.
    return serving.host_port(request.client) if request.client else ""


def canonical_header_key(key: str) -> str:
    """textproto.CanonicalMIMEHeaderKey: x-forwarded-for -> X-Forwarded-For."""
    return "-".join(part[:1].upper() + part[1:].lower() for part in key.split("-"))


class Netexec:
    def __init__(self, options) -> None:
        self.options = options
        self.ready = threading.Event()  # upstream's serverReady: a UDP/SCTP server is up
        self.terminating = threading.Event()  # SIGTERM seen: /readyz says 503
        self.server: tinyhttp.Server | None = None
        self.routes = {
            "/": self.root, "/clientip": self.clientip, "/header": self.header,
            "/dial": self.dial, "/echo": self.echo, "/exit": self.exit,
            "/healthz": self.healthz, "/readyz": self.readyz, "/hostname": self.hostname,
            "/redirect": self.redirect, "/shell": self.shell, "/upload": self.upload,
            "/hostName": self.hostname_old, "/shutdown": self.shutdown,
        }

    def handle(self, request: tinyhttp.Request) -> tinyhttp.Response:
        if self.options.http_override:
            request = tinyhttp.Request("GET", self.options.http_override, "HTTP/1.1", [], b"",
                                       None)
        # Go's ServeMux: "/" catches every path that has no handler of its own.
        return self.routes.get(request.path, self.root)(request)

    def root(self, request):
        log("GET /")
        return tinyhttp.Response(200, f"NOW: {golang.now_string()}")

    def echo(self, request):
        msg, code_text = request.form_value("msg"), request.form_value("code")
        log(f"GET /echo?msg={msg}&code={code_text}")
        status = 200
        if code_text:
            try:
                status = golang.parse_int(code_text)
            except ValueError:
                return tinyhttp.Response(200, "argument 'code' must be an integer or empty, "
                                              f"got {golang.quote(code_text)}\n")
            if not 100 <= status <= 999:
                raise tinyhttp.Abort  # Go's WriteHeader panics on such a code
            if status < 200:
                status = 200  # Go sends a 1xx as an interim answer, then 200 with the body
        return tinyhttp.Response(status, msg)

    def clientip(self, request):
        log("GET /clientip")
        return tinyhttp.Response(200, client_text(request))

    def header(self, request):
        key = request.form_value("key")
        # Go keeps Host out of Request.Header; every other header is listed under its
        # canonical name.
        headers: dict[str, list[str]] = {}
        for name, value in request.headers:
            if name.lower() != "host":
                headers.setdefault(canonical_header_key(name), []).append(value)
        if key:
            log(f"GET /header?key={key}")
            return tinyhttp.Response(200, headers.get(canonical_header_key(key), [""])[0])
        log("GET /header")
        return tinyhttp.Response(200, golang.marshal(headers))

    def exit(self, request):
        wait_text = request.form_value("wait")
        timeout_text = request.form_value("timeout")
        code_text = request.form_value("code")
        log(f"GET /exit?code={code_text}&timeout={timeout_text}&wait={wait_text}")
        durations = {}
        for name, text in (("timeout", timeout_text), ("wait", wait_text)):
            try:
                durations[name] = golang.parse_duration(text) if text else 0
            except ValueError:
                return tinyhttp.Response(200, f"argument '{name}' must be a valid golang "
                                              f"duration or empty, got {golang.quote(text)}\n")
        try:
            code = golang.parse_int(code_text) if code_text else 0
        except ValueError:
            return tinyhttp.Response(200, f"argument 'code' must be an integer [0-127] or "
                                          f"empty, got {golang.quote(code_text)}\n")
        timeout, wait = durations["timeout"], durations["wait"]
        log(f"Will begin shutdown in {golang.format_duration(wait)}, allowing "
            f"{golang.format_duration(timeout)} for connections to close, then will exit "
            f"with {code}")
        time.sleep(max(wait, 0) / 1e9)
        if timeout <= 0:
            serving.exit_now(code)  # as upstream: no answer at all
        serving.start_worker(self._graceful_exit, code, timeout / 1e9)
        return tinyhttp.Response(200)

    def _graceful_exit(self, code: int, timeout: float) -> None:
        """http.Server.Shutdown: stop accepting, let requests finish (this one too), exit."""
        assert self.server is not None
        self.server.closing = True
        self.server.shutdown()
        drained = self.server.wait_idle(timeout)
        outcome = "<nil>" if drained else "context deadline exceeded"
        log(f"Graceful shutdown completed with: {outcome}")
        serving.exit_now(code)

    def healthz(self, request):
        log("GET /healthz")
        # As upstream: healthy only once a UDP or SCTP server runs, so --udp-port=-1 without
        # --sctp-port answers 412 for ever.
        return tinyhttp.Response(200 if self.ready.is_set() else 412)

    def readyz(self, request):
        log("GET /readyz")
        if self.terminating.is_set():
            return tinyhttp.Response(503, "shutting down")
        if self.ready.is_set():
            return tinyhttp.Response(200, "ok")
        return tinyhttp.Response(412)

    def hostname(self, request):
        log("GET /hostname")
        return tinyhttp.Response(200, hostname())

    def hostname_old(self, request):
        log("GET /hostName")
        return tinyhttp.Response(200, hostname())

    def shutdown(self, request):
        log("GET /shutdown")
        serving.exit_now(0)

    def redirect(self, request):
        location, code_text = request.form_value("location"), request.form_value("code")
        log(f"{request.method} /redirect?msg={location}&code={code_text}")
        status = 302
        if code_text:
            try:
                status = golang.parse_int(code_text)
            except ValueError:
                return tinyhttp.Response(200, "argument 'code' must be an integer or empty, "
                                              f"got {golang.quote(code_text)}\n")
        return redirect_response(request, location, status)

    def shell(self, request):
        import subprocess

        command = request.form_value("shellCommand") or request.form_value("cmd")
        log(f"GET /shell?cmd={command}")
        output: dict[str, str] = {}
        try:
            with serving.signals_unblocked():
                child = subprocess.Popen([SHELL, "-c", command], stdout=subprocess.PIPE,
                                         stderr=subprocess.STDOUT)
            combined, _ = child.communicate()
            if combined:
                output["output"] = combined.decode("utf-8", "replace")
            if child.returncode > 0:
                output["error"] = f"exit status {child.returncode}"
            elif child.returncode < 0:
                output["error"] = f"signal: {signal.strsignal(-child.returncode).lower()}"
        except OSError as exc:
            output["error"] = f"fork/exec {SHELL}: {golang.errno_text(exc)}"
        log("Output: map[" + " ".join(f"{k}:{v}" for k, v in sorted(output.items())) + "]")
        return tinyhttp.Response(200, golang.marshal(output))

    def upload(self, request):
        log("GET /upload")
        return tinyhttp.Response(501, "netlab's agnhost does not implement /upload\n")

    def dial(self, request):
        query = _first_values(request.query)
        host, port = query.get("host", ""), query.get("port", "")
        payload, protocol = query.get("request", ""), query.get("protocol", "")
        tries_text = query.get("tries", "")
        log(f"GET /dial?host={host}&protocol={protocol}&port={port}&request={payload}"
            f"&tries={tries_text}")
        tries = 1
        if tries_text:
            try:
                tries = golang.parse_int(tries_text)
            except ValueError as exc:
                return http_error(f"tries parameter is invalid. {exc}", 400)
        if not payload:
            # As upstream, which prints its (nil) error here.
            return http_error("request parameter not specified. <nil>", 400)
        dialers = {"": ("tcp", dial_http), "http": ("tcp", dial_http),
                   "udp": ("udp", dial_udp), "sctp": ("sctp", dial_sctp)}
        if protocol.lower() not in dialers:
            return http_error(f"unsupported protocol. {protocol}", 400)
        network, dialer = dialers[protocol.lower()]
        try:
            address = golang.resolve(host, port, "udp" if network == "udp" else "tcp")
        except LookupError as exc:
            return http_error(f"host and/or port param are invalid. {exc}", 400)

        responses: list[str] = []
        errors: list[str] = []
        response = ""
        for _ in range(tries):
            response, error = dialer(payload, address)
            if error:
                errors.append(error)
            else:
                responses.append(response)
        output: dict[str, list[str]] = {}
        if response:  # as upstream: responses are listed only if the *last* try answered
            output["responses"] = responses
        if errors:
            output["errors"] = errors
        return tinyhttp.Response(200, golang.marshal(output))


def _first_values(query: str) -> dict[str, str]:
    import urllib.parse

    values = urllib.parse.parse_qs(query, keep_blank_values=True)
    return {key: found[0] for key, found in values.items()}


def redirect_response(request: tinyhttp.Request, location: str, status: int):
    """Go's http.Redirect, including its resolution of a relative location."""
    import posixpath
    import urllib.parse

    target = location
    parts = urllib.parse.urlsplit(location)
    if not parts.scheme and not parts.netloc:
        if not target.startswith("/"):
            target = posixpath.dirname(request.path).rstrip("/") + "/" + target
        path, mark, query = target.partition("?")
        cleaned = posixpath.normpath(path)
        if path.endswith("/") and not cleaned.endswith("/"):
            cleaned += "/"
        target = cleaned + mark + query
    headers = [("Location", target)]
    body = ""
    if request.method in ("GET", "HEAD"):
        headers.append(("Content-Type", "text/html; charset=utf-8"))
    if request.method == "GET":
        escaped = (target.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                   .replace('"', "&#34;").replace("'", "&#39;"))
        body = f'<a href="{escaped}">{tinyhttp.reason(status)}</a>.\n\n'
    return tinyhttp.Response(status, body, tuple(headers))


def main(argv: list[str]) -> int:
    options = parse_args(argv)
    app = Netexec(options)

    def terminate(_signum, _frame) -> None:
        app.terminating.set()
        if options.delay_shutdown > 0:
            log(f"Sleeping {options.delay_shutdown} seconds before terminating...")
            threading.Timer(options.delay_shutdown, serving.exit_now, args=(0,)).start()
        else:
            serving.exit_now(0)

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGINT, lambda _signum, _frame: serving.exit_now(0))

    if options.udp_port != -1:
        for address in udp_addresses(options.udp_listen_addresses):
            try:
                sock = serving.dual_stack(socket.socket(family(address), socket.SOCK_DGRAM))
                sock.bind((address, options.udp_port))
            except OSError as exc:
                golang.fatal(f"Error occurred: failed to create listener for UDP address "
                             f"{golang.join_host_port(address, options.udp_port)}:{exc}")
            log(f"Started UDP server on port {address} {options.udp_port}")
            serving.start_worker(serve_udp, sock)
            app.ready.set()
    if options.sctp_port != -1:
        try:
            sctp_address = serving.bind_address()
            listener = serving.dual_stack(socket.socket(family(sctp_address), socket.SOCK_STREAM, socket.IPPROTO_SCTP))
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((sctp_address, options.sctp_port))
            listener.listen(128)
        except OSError as exc:
            golang.fatal(f"Error occurred: failed to create listener for SCTP address "
                         f":{options.sctp_port}:{exc}")
        log("Started SCTP server")
        serving.start_worker(serve_sctp, listener)
        app.ready.set()

    ssl_context = None
    if options.tls_cert_file:
        import ssl

        ssl_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ssl_context.load_cert_chain(options.tls_cert_file, options.tls_private_key_file or None)
    try:
        app.server = tinyhttp.Server((serving.bind_address(), options.http_port), app.handle,
                                     ssl_context)
    except OSError as exc:
        golang.fatal(f"listen tcp :{options.http_port}: bind: {golang.errno_text(exc)}")
    log(f"Started HTTP server on port {options.http_port}")
    app.server.serve_forever()
    # serve_forever returns only for /exit's graceful shutdown, whose thread ends the process.
    serving.wait_forever()
    return 0
