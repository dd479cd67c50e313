"""The other built-ins, run for real on 127.0.0.1: web, serve-hostname, connect, pause, help."""

from __future__ import annotations

import signal
import socket
import subprocess

import pytest
from test_images_support import (DEADLINE, LOOPBACK, POD_ENV, Running, free_port, http_get,
                                 udp_ask, wait_udp)

from netlab.images.catalog import resolve

HOSTNAME = socket.gethostname()


@pytest.fixture
def run(tmp_path):
    started: list[Running] = []

    def start(*args: str, env: dict[str, str] | None = None) -> Running:
        program = Running(list(args), tmp_path, env)
        started.append(program)
        return program

    yield start
    for program in started:
        program.stop()


# --- web -------------------------------------------------------------------------------------

def pod_line(client: str) -> str:
    return (f"pod={POD_ENV['NETLAB_POD_NAME']} namespace={POD_ENV['NETLAB_POD_NAMESPACE']} "
            f"ip={POD_ENV['NETLAB_POD_IP']} node={POD_ENV['NETLAB_NODE_NAME']} client={client}\n")


def test_web_answers_every_path_with_the_pod_and_the_caller(run):
    port = free_port()
    web = run("web", "--port", f"{port}/TCP")
    web.wait_tcp(port)
    with socket.create_connection((LOOPBACK, port), timeout=DEADLINE) as sock:
        local = "%s:%d" % sock.getsockname()
        sock.sendall(b"GET /any/path HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        reply = b""
        while chunk := sock.recv(4096):
            reply += chunk
    head, _, body = reply.decode().partition("\r\n\r\n")
    assert head.startswith("HTTP/1.1 200 OK") and "text/plain" in head
    assert body == pod_line(local)
    assert f"{local} GET /any/path 200" in web.output()


def test_web_head_healthz_and_several_ports(run):
    first, second, udp = free_port(), free_port(), free_port(socket.SOCK_DGRAM)
    web = run("web", "--port", f"{first}/TCP", "--port", f"{second}", "--port", f"{udp}/UDP")
    web.wait_tcp(first)
    web.wait_tcp(second)
    assert http_get(first, "/healthz")[::2] == (200, "ok\n")
    status, headers, body = http_get(second, "/", method="HEAD")
    assert (status, body) == (200, "") and int(headers["Content-Length"]) > 0
    wait_udp(udp, b"ping")
    answer, local = udp_ask(udp, b"anything at all\n")
    assert answer.decode() == pod_line(local)


def test_web_text_replaces_the_pod_line(run):
    port = free_port()
    web = run("web", "--port", f"{port}/TCP", "--text", "hello world")
    web.wait_tcp(port)
    assert http_get(port, "/")[2] == "hello world\n"


def test_web_slow_client_does_not_block_others(run):
    port = free_port()
    web = run("web", "--port", f"{port}/TCP")
    web.wait_tcp(port)
    with socket.create_connection((LOOPBACK, port), timeout=DEADLINE) as slow:
        slow.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # never finishes its headers
        assert http_get(port, "/")[0] == 200


def test_web_malformed_request_gets_400(run):
    port = free_port()
    web = run("web", "--port", f"{port}/TCP")
    web.wait_tcp(port)
    with socket.create_connection((LOOPBACK, port), timeout=DEADLINE) as sock:
        sock.sendall(b"NONSENSE\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 400 Bad Request")


def test_web_chunked_request_body_is_consumed(run):
    port = free_port()
    web = run("web", "--port", f"{port}/TCP")
    web.wait_tcp(port)
    with socket.create_connection((LOOPBACK, port), timeout=DEADLINE) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                     b"5\r\nhello\r\n0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n"
                     b"Connection: close\r\n\r\n")
        reply = b""
        while chunk := sock.recv(4096):
            reply += chunk
    assert reply.count(b"HTTP/1.1 200 OK") == 2 and reply.endswith(b"ok\n")


def test_web_sigterm_exits_zero(run):
    port = free_port()
    web = run("web", "--port", f"{port}/TCP")
    web.wait_tcp(port)
    web.signal(signal.SIGTERM)
    assert web.wait_exit() == 0


def test_web_port_in_use_fails_clearly(run):
    with socket.create_server((LOOPBACK, 0)) as taken:
        port = taken.getsockname()[1]
        web = run("web", "--port", f"{port}/TCP")
        assert web.wait_exit() == 1
    assert f"web: cannot listen on {port}/TCP" in web.output()


# --- serve-hostname --------------------------------------------------------------------------

def test_serve_hostname_over_http(run):
    port = free_port()
    program = run("agnhost", "serve-hostname", f"--port={port}")
    program.wait_tcp(port)
    assert http_get(port, "/whatever")[::2] == (200, HOSTNAME)
    program.signal(signal.SIGTERM)
    assert program.wait_exit() == 0


def test_serve_hostname_raw_tcp_and_udp(run):
    port = free_port()
    program = run("agnhost", "serve-hostname", "--http=false", "--tcp", "--udp", "--port",
                  str(port))
    program.wait_tcp(port)
    with socket.create_connection((LOOPBACK, port), timeout=DEADLINE) as sock:
        assert sock.recv(4096) == HOSTNAME.encode()
    assert wait_udp(port, b"x") == HOSTNAME.encode()


def test_serve_hostname_refuses_http_with_udp(run):
    program = run("agnhost", "serve-hostname", "--udp")
    assert program.wait_exit() == 1
    assert "Can't serve TCP/UDP mode and HTTP mode at the same time" in program.output()


# --- connect ---------------------------------------------------------------------------------

def connect(run, *args: str) -> tuple[int, str]:
    program = run("agnhost", "connect", *args)
    return program.wait_exit(), program.output()


def test_connect_succeeds_silently(run):
    with socket.create_server((LOOPBACK, 0)) as server:
        assert connect(run, f"{LOOPBACK}:{server.getsockname()[1]}", "--timeout=5s") == (0, "")


def test_connect_refused(run):
    assert connect(run, f"{LOOPBACK}:{free_port()}") == (1, "REFUSED\n")


def test_connect_without_port_is_unknown(run):
    assert connect(run, LOOPBACK) == (1, f"UNKNOWN: address {LOOPBACK}: missing port in "
                                         "address\n")


def test_connect_udp_to_netexec(run):
    udp = free_port(socket.SOCK_DGRAM)
    run("agnhost", "netexec", f"--http-port={free_port()}", f"--udp-port={udp}")
    wait_udp(udp, b"hostname")
    assert connect(run, f"{LOOPBACK}:{udp}", "--protocol=udp", "--timeout=5s") == (0, "")


def test_connect_udp_refused(run):
    code, output = connect(run, f"{LOOPBACK}:{free_port(socket.SOCK_DGRAM)}",
                           "--protocol", "udp", "--timeout", "5s")
    assert code == 1 and output.startswith("REFUSED: read udp 127.0.0.1:")


def test_connect_unsupported_protocol(run):
    assert connect(run, f"{LOOPBACK}:1", "--protocol=icmp") == (1, "Unsupported protocol\nicmp")


# --- pause -----------------------------------------------------------------------------------

@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 2), (signal.SIGINT, 1)])
def test_agnhost_pause_exit_codes_are_upstreams(run, signum, code):
    program = run("agnhost", "pause")
    program.wait_output("Paused")  # printed once its signal handlers are in place
    program.signal(signum)
    assert program.wait_exit() == code
    assert program.output() == f"Paused\nexiting {code}\n"


def test_pause_image_program_stops_on_sigterm():
    program = resolve("registry.k8s.io/pause:3.9", None, None, [], "unused")
    process = subprocess.Popen(program.argv)
    try:
        process.send_signal(signal.SIGTERM)
        assert process.wait(DEADLINE) == -signal.SIGTERM
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


# --- agnhost's own command line --------------------------------------------------------------

def test_agnhost_without_arguments_prints_help(run):
    program = run("agnhost")
    assert program.wait_exit() == 0
    output = program.output()
    for name in ("netexec", "serve-hostname", "pause", "connect", "dns-suffix"):
        assert f"  {name} " in output


def test_agnhost_unknown_command(run):
    program = run("agnhost", "liveness")
    assert program.wait_exit() == 1
    assert 'Error: unknown command "liveness" for "app"' in program.output()


def test_unknown_program(run):
    program = run("nginx")
    assert program.wait_exit() == 2
