"""`agnhost serve-hostname`: answer every request with the pod's hostname.

As test/images/agnhost/serve-hostname/serve_hostname.go: HTTP on port 9376 by default, or raw
TCP (write the name, close) and/or UDP (one datagram back per datagram) with `--http=false`.
One difference: upstream keeps serving for 60 s after SIGTERM ("Awaiting pod deletion.");
netlab exits at once so that deleting a pod does not wait out the grace period.
"""

from __future__ import annotations

import signal
import socket

from netlab.images import serving, tinyhttp
from netlab.images.agnhost import golang
from netlab.images.agnhost.golang import log


def parse_args(argv: list[str]):
    parser = golang.CobraParser(prog="agnhost serve-hostname",
                                description="Serves the hostname through HTTP / TCP / UDP on "
                                            "the given port.")
    golang.bool_flag(parser, "--tcp", False, "Serve raw over TCP.")
    golang.bool_flag(parser, "--udp", False, "Serve raw over UDP.")
    golang.bool_flag(parser, "--http", True, "Serve HTTP.")
    golang.bool_flag(parser, "--close", False, "Close connection per each HTTP request.")
    parser.add_argument("--port", type=int, default=9376, help="Port number.")
    return parser.parse_args(argv)


def serve_tcp(listener: socket.socket, name: bytes) -> None:
    while True:
        conn, client = listener.accept()
        with conn:
            log(f"TCP request from {serving.host_port(client)}")
            try:
                conn.sendall(name)
            except OSError:
                pass


def serve_udp(sock: socket.socket, name: bytes) -> None:
    while True:
        _, client = sock.recvfrom(16)
        log(f"UDP request from {serving.host_port(client)}")
        sock.sendto(name, client)


def main(argv: list[str]) -> int:
    options = parse_args(argv)
    if options.http and (options.tcp or options.udp):
        golang.fatal("Can't serve TCP/UDP mode and HTTP mode at the same time")
    name = socket.gethostname()
    address = serving.bind_address()

    def stop(signum, _frame) -> None:
        log(f"Shutting down after receiving signal: {signal.strsignal(signum).lower()}.")
        serving.exit_now(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    if options.tcp:
        try:
            listener = socket.create_server(
                (address, options.port), family=serving.family(address), backlog=128, dualstack_ipv6=address == "::"
            )
        except OSError as exc:
            golang.fatal(f"Error from net.Listen(): listen tcp :{options.port}: bind: "
                         f"{golang.errno_text(exc)}")
        serving.start_worker(serve_tcp, listener, name.encode())
    if options.udp:
        try:
            sock = serving.udp_socket(address, options.port)
        except OSError as exc:
            golang.fatal(f"Error from ListenUDP(): listen udp :{options.port}: bind: "
                         f"{golang.errno_text(exc)}")
        serving.start_worker(serve_udp, sock, name.encode())
    if options.http:
        close = (("Connection", "close"),) if options.close else ()

        def answer(request: tinyhttp.Request) -> tinyhttp.Response:
            log(f"HTTP request from {serving.host_port(request.client)}")
            return tinyhttp.Response(200, name, close)

        try:
            server = tinyhttp.Server((address, options.port), answer)
        except OSError as exc:
            golang.fatal(f"listen tcp :{options.port}: bind: {golang.errno_text(exc)}")
        serving.start_worker(server.serve_forever)
    log(f"Serving on port {options.port}.")
    serving.wait_forever()
    return 0
