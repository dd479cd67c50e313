"""agnhost netexec, run for real on 127.0.0.1 and probed with real sockets.

The expected texts are upstream's (test/images/agnhost/netexec/netexec.go), since e2e-style
tests match on them.
"""

from __future__ import annotations

import http.client
import json
import re
import signal
import socket

import pytest
from test_images_support import (LOOPBACK, Running, free_port, http_get, udp_ask, wait_udp)

HOSTNAME = socket.gethostname()


@pytest.fixture
def start(tmp_path):
    started: list[Running] = []

    def start_netexec(*flags: str, http_port: int | None = None, udp_port: int | None = None):
        http_port = http_port or free_port()
        udp_port = udp_port or free_port(socket.SOCK_DGRAM)
        program = Running(["agnhost", "netexec", f"--http-port={http_port}", "--udp-port",
                           str(udp_port), *flags], tmp_path)
        started.append(program)
        program.wait_tcp(http_port)
        program.http_port, program.udp_port = http_port, udp_port
        return program

    yield start_netexec
    for program in started:
        program.stop()


def test_root_prints_now_like_go(start):
    netexec = start()
    status, headers, body = http_get(netexec.http_port, "/")
    assert status == 200 and headers["Content-Type"] == "text/plain; charset=utf-8"
    assert re.fullmatch(r"NOW: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\S* [+-]\d{4} \S+ m=\+\S+", body)


def test_unknown_paths_fall_through_to_root_like_go_servemux(start):
    assert http_get(start().http_port, "/no/such/path")[2].startswith("NOW: ")


@pytest.mark.parametrize("path", ["/hostname", "/hostName"])
def test_hostname_endpoints(start, path):
    assert http_get(start().http_port, path)[::2] == (200, HOSTNAME)


def test_clientip_is_the_callers_address_and_port(start):
    netexec = start()
    conn = http.client.HTTPConnection(LOOPBACK, netexec.http_port, timeout=10)
    conn.connect()
    local = "%s:%d" % conn.sock.getsockname()
    conn.request("GET", "/clientip")
    assert conn.getresponse().read().decode() == local
    conn.close()


def test_echo_returns_msg_with_the_requested_status(start):
    netexec = start()
    assert http_get(netexec.http_port, "/echo?msg=hello%20there")[::2] == (200, "hello there")
    assert http_get(netexec.http_port, "/echo?msg=gone&code=404")[::2] == (404, "gone")
    assert http_get(netexec.http_port, "/echo?msg=x&code=abc")[::2] == (
        200, "argument 'code' must be an integer or empty, got \"abc\"\n")


def test_head_answers_headers_only(start):
    status, headers, body = http_get(start().http_port, "/hostname", method="HEAD")
    assert (status, body) == (200, "") and headers["Content-Length"] == str(len(HOSTNAME))


def test_health_and_readiness(start):
    netexec = start()
    assert http_get(netexec.http_port, "/healthz")[::2] == (200, "")
    assert http_get(netexec.http_port, "/readyz")[::2] == (200, "ok")


def test_without_a_udp_server_healthz_fails_as_upstream(start):
    netexec = start("--udp-port=-1")
    assert http_get(netexec.http_port, "/healthz")[0] == 412
    assert http_get(netexec.http_port, "/readyz")[0] == 412


def test_header_endpoint(start):
    netexec = start()
    conn = http.client.HTTPConnection(LOOPBACK, netexec.http_port, timeout=10)
    conn.request("GET", "/header?key=x-forwarded-for", headers={"X-Forwarded-For": "1.2.3.4"})
    assert conn.getresponse().read() == b"1.2.3.4"
    conn.request("GET", "/header", headers={"X-Test": "a"})
    headers = json.loads(conn.getresponse().read())
    assert headers["X-Test"] == ["a"] and "Host" not in headers
    conn.close()


def test_keep_alive_serves_several_requests_on_one_connection(start):
    netexec = start()
    conn = http.client.HTTPConnection(LOOPBACK, netexec.http_port, timeout=10)
    conn.request("GET", "/hostname")
    first = conn.getresponse().read()
    sock = conn.sock
    conn.request("POST", "/echo", body="msg=posted",
                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    second = conn.getresponse().read()
    assert (first, second) == (HOSTNAME.encode(), b"posted") and conn.sock is sock
    conn.close()


def test_udp_commands(start):
    netexec = start()
    assert wait_udp(netexec.udp_port, b"hostname") == HOSTNAME.encode()
    assert udp_ask(netexec.udp_port, b"echo Hello")[0] == b"hello"
    answer, local = udp_ask(netexec.udp_port, b"clientip")
    assert answer.decode() == local


def test_unknown_udp_command_gets_no_answer(start):
    netexec = start()
    wait_udp(netexec.udp_port, b"hostname")
    with pytest.raises(TimeoutError):
        udp_ask(netexec.udp_port, b"bogus", timeout=0.3)
    assert "Unknown UDP command received from" in netexec.output()


def test_dial_http_reaches_another_netexec(start):
    client, server = start(), start()
    status, _, body = http_get(
        client.http_port, f"/dial?request=hostname&host={LOOPBACK}&port={server.http_port}"
                          "&protocol=http&tries=3")
    assert (status, body) == (200, json.dumps({"responses": [HOSTNAME] * 3},
                                              separators=(",", ":")))
    assert "GET /hostname" in server.output()


def test_dial_udp_reaches_another_netexec(start):
    client, server = start(), start()
    wait_udp(server.udp_port, b"hostname")
    body = http_get(client.http_port, f"/dial?request=echo%20hi&host={LOOPBACK}"
                                      f"&port={server.udp_port}&protocol=udp")[2]
    assert body == '{"responses":["hi"]}'


def test_dial_errors_are_reported_in_go_words(start):
    client = start()
    closed = free_port()
    body = http_get(client.http_port,
                    f"/dial?request=hostname&host={LOOPBACK}&port={closed}&tries=2")[2]
    error = (f'Get "http://{LOOPBACK}:{closed}/hostname": dial tcp {LOOPBACK}:{closed}: '
             "connect: connection refused")
    assert json.loads(body) == {"errors": [error, error]}


def test_dial_udp_to_a_closed_port_is_refused(start):
    client = start()
    closed = free_port(socket.SOCK_DGRAM)
    (error,) = json.loads(http_get(client.http_port, f"/dial?request=hostname&host={LOOPBACK}"
                                                     f"&port={closed}&protocol=udp")[2])["errors"]
    assert re.fullmatch(rf"reading from udp connection failed\. err:'read udp "
                        rf"127\.0\.0\.1:\d+->127\.0\.0\.1:{closed}: read: connection refused'",
                        error)


@pytest.mark.parametrize("query, message", [
    ("host=127.0.0.1&port=1", "request parameter not specified. <nil>\n"),
    ("request=x&host=127.0.0.1&port=1&tries=x",
     'tries parameter is invalid. strconv.Atoi: parsing "x": invalid syntax\n'),
    ("request=x&host=127.0.0.1&port=1&protocol=icmp", "unsupported protocol. icmp\n"),
    ("request=x&host=127.0.0.1&port=99999",
     "host and/or port param are invalid. address 99999: invalid port\n"),
])
def test_dial_bad_parameters_are_400(start, query, message):
    status, headers, body = http_get(start().http_port, "/dial?" + query)
    assert (status, body) == (400, message)
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_redirect(start):
    status, headers, body = http_get(start().http_port,
                                     "/redirect?location=/echo%3Fmsg%3Dfoobar&code=307")
    assert status == 307 and headers["Location"] == "/echo?msg=foobar"
    assert body == '<a href="/echo?msg=foobar">Temporary Redirect</a>.\n\n'


def test_shell_runs_the_command_and_reports_json(start):
    body = http_get(start().http_port, "/shell?cmd=echo%20hi%3B%20exit%203")[2]
    assert json.loads(body) == {"output": "hi\n", "error": "exit status 3"}


def test_http_override_serves_one_path_for_every_request(start):
    netexec = start("--http-override=/echo?msg=fixed")
    assert http_get(netexec.http_port, "/anything")[2] == "fixed"


def test_exit_with_timeout_answers_then_exits_with_the_code(start):
    netexec = start()
    assert http_get(netexec.http_port, "/exit?code=7&timeout=2s")[::2] == (200, "")
    assert netexec.wait_exit() == 7
    assert "Graceful shutdown completed with: <nil>" in netexec.output()


def test_exit_without_timeout_drops_the_request_as_upstream(start):
    netexec = start()
    with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError)):
        http_get(netexec.http_port, "/exit?code=5")
    assert netexec.wait_exit() == 5


def test_exit_rejects_a_bad_duration(start):
    assert http_get(start().http_port, "/exit?timeout=soon")[::2] == (
        200, "argument 'timeout' must be a valid golang duration or empty, got \"soon\"\n")


def test_shutdown_exits_zero(start):
    netexec = start()
    with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError)):
        http_get(netexec.http_port, "/shutdown")
    assert netexec.wait_exit() == 0


def test_sigterm_exits_zero(start):
    netexec = start()
    netexec.signal(signal.SIGTERM)
    assert netexec.wait_exit() == 0


def test_delay_shutdown_keeps_serving_but_readyz_says_503(start):
    netexec = start("--delay-shutdown=1")
    netexec.signal(signal.SIGTERM)
    status, body = 0, ""
    for _ in range(100):  # poll until the signal has been handled
        status, _, body = http_get(netexec.http_port, "/readyz")
        if status == 503:
            break
    assert (status, body) == (503, "shutting down")
    assert http_get(netexec.http_port, "/healthz")[0] == 200
    assert netexec.wait_exit() == 0
    assert "Sleeping 1 seconds before terminating..." in netexec.output()


def test_bad_flag_fails_like_cobra(tmp_path):
    program = Running(["agnhost", "netexec", "--no-such-flag"], tmp_path)
    try:
        assert program.wait_exit() == 1
        assert "Error: unrecognized arguments: --no-such-flag" in program.output()
    finally:
        program.stop()


def test_shell_commands_can_be_terminated(start):
    # The shell must not inherit the signal mask of netexec's connection threads.
    body = http_get(start().http_port, "/shell?cmd=grep%20SigBlk%20/proc/self/status")[2]
    assert json.loads(body)["output"] == "SigBlk:\t0000000000000000\n"
