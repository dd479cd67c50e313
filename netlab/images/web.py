"""`web`: the stand-in for web images (nginx, httpd, whoami, ...) and unknown images with ports.

Every path answers one line that says which pod served the request and whom it saw calling:

    pod=web-7d4f namespace=default ip=10.244.1.5 node=node-a client=10.244.2.3:51234

which is what the lessons need to see: load balancing across endpoints, and whether the
source address survived (SNAT for NodePorts, externalTrafficPolicy). `/healthz` answers `ok`
for probes. On a UDP port each datagram gets the same line back. `--text` replaces the line
with fixed text, as hashicorp/http-echo's `-text` does.

    python -m netlab.images web --port 80/TCP --port 53/UDP
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from netlab.images import serving, tinyhttp


def identity_line(client: str) -> str:
    env = os.environ
    return (f"pod={env.get('NETLAB_POD_NAME', 'unknown')} "
            f"namespace={env.get('NETLAB_POD_NAMESPACE', 'unknown')} "
            f"ip={env.get('NETLAB_POD_IP', 'unknown')} "
            f"node={env.get('NETLAB_NODE_NAME', 'unknown')} client={client}\n")


def log(message: str) -> None:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime())
    sys.stdout.write(f"{stamp} {message}\n")  # one write, so threads never interleave
    sys.stdout.flush()


def parse_port(text: str) -> tuple[int, str]:
    number, _, protocol = text.partition("/")
    protocol = (protocol or "TCP").upper()
    if not number.isdigit() or not 1 <= int(number) <= 65535 or protocol not in ("TCP", "UDP"):
        raise argparse.ArgumentTypeError(f"{text!r} is not PORT[/TCP|/UDP]")
    return int(number), protocol


def reply(client: str, text: str) -> str:
    return text + "\n" if text else identity_line(client)


def answerer(text: str):
    def answer(request: tinyhttp.Request) -> tinyhttp.Response:
        client = serving.host_port(request.client)
        body = "ok\n" if request.path == "/healthz" else reply(client, text)
        log(f"{client} {request.method} {request.target} 200")
        return tinyhttp.Response(200, body)

    return answer


def serve_udp(sock, text: str) -> None:
    while True:
        _, sender = sock.recvfrom(65535)
        client = serving.host_port(sender)
        sock.sendto(reply(client, text).encode(), sender)
        log(f"{client} UDP datagram on :{sock.getsockname()[1]}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="web", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", dest="ports", action="append", type=parse_port, default=[],
                        metavar="PORT/PROTO", help="e.g. 80/TCP or 53/UDP; repeat for more")
    parser.add_argument("--text", default="", help="answer this text instead of the pod line")
    options = parser.parse_args(argv)
    ports = list(dict.fromkeys(options.ports)) or [(80, "TCP")]

    serving.exit_zero_on_termination()
    address = serving.bind_address()
    servers = []
    for port, protocol in ports:
        try:
            if protocol == "TCP":
                servers.append(tinyhttp.Server((address, port),
                                               answerer(options.text)).serve_forever)
            else:
                sock = serving.udp_socket(address, port)
                servers.append(lambda sock=sock: serve_udp(sock, options.text))
        except OSError as exc:
            print(f"web: cannot listen on {port}/{protocol}: {exc.strerror or exc}",
                  file=sys.stderr, flush=True)
            return 1
        log(f"listening on {address}:{port}/{protocol}")
    for serve in servers:
        serving.start_worker(serve)
    serving.wait_forever()
    return 0
