"""The DNS server as a process: UDP and TCP on 127.0.0.1, reloading its snapshot."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import pytest

from netlab.dns.records import EndpointRecord, PortRecord, Records, ServiceRecord, write_records
from netlab.dns.resolver import Zone
from netlab.dns.server import respond, udp_size_limit

REPO = Path(__file__).resolve().parents[2]
LOCALHOST = "127.0.0.1"
START_DEADLINE = 15.0
RELOAD_DEADLINE = 1.0


def snapshot(web_ip: str, *, generation: int = 1, headless_endpoints: int = 0) -> Records:
    services = [ServiceRecord("default", "web", "ClusterIP", web_ip, None,
                              (PortRecord("http", 80, "TCP"),), ())]
    if headless_endpoints:
        endpoints = tuple(EndpointRecord(f"10.244.{i // 250}.{i % 250 + 2}", True)
                          for i in range(headless_endpoints))
        services.append(ServiceRecord("default", "many", "ClusterIP", None, None,
                                      (PortRecord("http", 80, "TCP"),), endpoints))
    return Records("cluster.local", services=tuple(services), pods=(), generation=generation)


def free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind((LOCALHOST, 0))
            port = udp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind((LOCALHOST, port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no free port")


class DnsProcess:
    def __init__(self, tmp_path: Path, records_path: Path) -> None:
        self.port = free_port()
        self.stdout = tmp_path / "stdout.log"
        self.stderr = tmp_path / "stderr.log"
        env = dict(os.environ, PYTHONPATH=str(REPO))
        with open(self.stdout, "wb") as out, open(self.stderr, "wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "netlab.dns", "--records", str(records_path),
                 "--port", str(self.port), "--bind", LOCALHOST],
                cwd=REPO, env=env, stdout=out, stderr=err,
            )

    def udp(self, name: str, rdtype: str = "A", **kwargs) -> dns.message.Message:
        query = dns.message.make_query(name, rdtype, **kwargs)
        return dns.query.udp(query, LOCALHOST, port=self.port, timeout=0.5)

    def wait_until_answering(self) -> dns.message.Message:
        deadline = time.monotonic() + START_DEADLINE
        while True:
            assert self.proc.poll() is None, self.stderr.read_text()
            try:
                return self.udp("web.default.svc.cluster.local")
            except dns.exception.Timeout:
                if time.monotonic() > deadline:
                    raise

    def poll(self, predicate, deadline_seconds: float, what: str):
        deadline = time.monotonic() + deadline_seconds
        while True:
            response = self.udp("web.default.svc.cluster.local")
            if predicate(response):
                return response
            assert time.monotonic() < deadline, f"{what} not seen within {deadline_seconds}s"
            time.sleep(0.01)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=10)


def a_records(response: dns.message.Message) -> set[str]:
    return {r.to_text() for rrset in response.answer for r in rrset if rrset.rdtype == 1}


@pytest.fixture
def records_path(tmp_path) -> Path:
    return tmp_path / "dns.json"


@pytest.fixture
def server(tmp_path, records_path):
    write_records(records_path, snapshot("10.96.0.20", headless_endpoints=100))
    process = DnsProcess(tmp_path, records_path)
    yield process
    process.stop()


def test_answers_over_udp(server):
    response = server.wait_until_answering()
    assert response.rcode() == dns.rcode.NOERROR
    assert a_records(response) == {"10.96.0.20"}
    assert response.flags & dns.flags.AA


def test_answers_several_queries_on_one_tcp_connection(server):
    server.wait_until_answering()
    with socket.create_connection((LOCALHOST, server.port), timeout=5) as sock:
        for name, expected in [("web.default.svc.cluster.local", {"10.96.0.20"}),
                               ("web.default.svc.cluster.local", {"10.96.0.20"})]:
            query = dns.message.make_query(name, "A")
            response = dns.query.tcp(query, LOCALHOST, port=server.port, sock=sock, timeout=5)
            assert a_records(response) == expected
        query = dns.message.make_query("example.com", "A")
        response = dns.query.tcp(query, LOCALHOST, port=server.port, sock=sock, timeout=5)
        assert response.rcode() == dns.rcode.REFUSED


def test_large_udp_answer_is_truncated_and_complete_over_tcp(server):
    server.wait_until_answering()
    truncated = server.udp("many.default.svc.cluster.local")
    assert truncated.flags & dns.flags.TC
    with_edns = server.udp("many.default.svc.cluster.local", use_edns=0, payload=4096)
    assert with_edns.flags & dns.flags.TC  # 100 A records exceed our 1232-byte EDNS size too
    query = dns.message.make_query("many.default.svc.cluster.local", "A")
    full = dns.query.tcp(query, LOCALHOST, port=server.port, timeout=5)
    assert not full.flags & dns.flags.TC
    assert len(a_records(full)) == 100


def test_small_answer_fits_in_512_bytes_without_truncation(server):
    server.wait_until_answering()
    response = server.udp("_http._tcp.web.default.svc.cluster.local", "SRV")
    assert not response.flags & dns.flags.TC
    assert len(response.answer) == 1


def test_reloads_a_rewritten_snapshot_within_a_second(server, records_path):
    server.wait_until_answering()
    write_records(records_path, snapshot("10.96.0.99", generation=2))
    response = server.poll(lambda r: a_records(r) == {"10.96.0.99"}, RELOAD_DEADLINE,
                           "the new cluster IP")
    assert response.rcode() == dns.rcode.NOERROR


def test_keeps_the_old_snapshot_when_the_new_one_is_broken(server, records_path):
    server.wait_until_answering()
    broken = records_path.with_name("broken.tmp")
    broken.write_text("{ not json")
    os.replace(broken, records_path)
    deadline = time.monotonic() + 5
    while "cannot load" not in server.stderr.read_text():
        assert time.monotonic() < deadline, "the server never looked at the broken snapshot"
        time.sleep(0.01)
    assert a_records(server.udp("web.default.svc.cluster.local")) == {"10.96.0.20"}


def test_logs_one_line_per_query(server):
    server.wait_until_answering()
    server.udp("nope.default.svc.cluster.local")
    deadline = time.monotonic() + 5
    while "nope.default.svc.cluster.local. A NXDOMAIN 127.0.0.1:" not in server.stdout.read_text():
        assert time.monotonic() < deadline, server.stdout.read_text()
        time.sleep(0.01)


def test_exits_zero_on_sigterm(server):
    server.wait_until_answering()
    assert server.stop() == 0


def test_servfail_until_the_snapshot_appears(tmp_path, records_path):
    process = DnsProcess(tmp_path, records_path)
    try:
        response = process.wait_until_answering()
        assert response.rcode() == dns.rcode.SERVFAIL
        write_records(records_path, snapshot("10.96.0.20"))
        process.poll(lambda r: a_records(r) == {"10.96.0.20"}, RELOAD_DEADLINE, "the first answer")
    finally:
        assert process.stop() == 0


def test_garbage_gets_formerr_or_nothing(server):
    server.wait_until_answering()
    query = dns.message.make_query("web.default.svc.cluster.local", "A")
    wire = query.to_wire()[:-3]  # the question is cut short
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(2)
        sock.sendto(b"\x01", (LOCALHOST, server.port))  # too short for a header: dropped
        sock.sendto(wire, (LOCALHOST, server.port))
        reply = dns.message.from_wire(sock.recv(65535))
    assert reply.id == query.id
    assert reply.rcode() == dns.rcode.FORMERR
    assert a_records(server.udp("web.default.svc.cluster.local")) == {"10.96.0.20"}


@pytest.mark.skipif(shutil.which("dig") is None, reason="dig is not installed")
def test_dig_sees_the_service(server):
    server.wait_until_answering()
    result = subprocess.run(
        ["dig", f"@{LOCALHOST}", "-p", str(server.port), "+short", "+tries=1", "+time=2",
         "web.default.svc.cluster.local", "A"],
        capture_output=True, text=True, timeout=10, check=True,
    )
    assert result.stdout.split() == ["10.96.0.20"]


# In-process: the packet handling the sockets rely on.

def test_respond_drops_responses_and_short_packets():
    query = dns.message.make_query("web.default.svc.cluster.local", "A")
    zone = Zone.from_records(snapshot("10.96.0.20"))
    a_response = zone.answer(query).to_wire()
    assert respond(a_response, zone) is None  # never answer an answer (no loops)
    assert respond(b"\x12", zone) is None


def test_respond_servfails_without_a_snapshot():
    query = dns.message.make_query("web.default.svc.cluster.local", "A")
    response = respond(query.to_wire(), None)
    assert response.rcode() == dns.rcode.SERVFAIL
    assert response.id == query.id


@pytest.mark.parametrize(("payload", "edns", "limit"),
                         [(0, -1, 512), (512, 0, 512), (4096, 0, 1232), (1000, 0, 1000),
                          (100, 0, 512)])
def test_udp_size_limit(payload, edns, limit):
    assert udp_size_limit(payload, edns) == limit


def _malformed_messages() -> list[bytes]:
    """Truncated headers, lying counts, compression loops, absurd lengths, random bytes."""
    import random
    import struct

    query = dns.message.make_query("web.default.svc.cluster.local", "A").to_wire()
    header = struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)
    loop = header + b"\xc0\x0c" + b"\x00\x01\x00\x01"  # a name that points at itself
    mutual = header + b"\xc0\x12\x00\x01\x00\x01" + b"\xc0\x0c"  # two pointers pointing at each other
    random.seed(20261205)  # the same bytes in every run: a failure can be replayed
    return [
        b"",
        b"\x00",
        header[:11],  # one byte short of a header
        struct.pack("!HHHHHH", 1, 0x0100, 65535, 65535, 65535, 65535),  # counts with nothing behind them
        loop,
        mutual,
        header + b"\x3f" + b"a" * 10,  # a label longer than what follows
        header + b"\x40" + b"a" * 64 + b"\x00\x00\x01\x00\x01",  # label length 64: reserved bits
        query[:-3],  # a question cut short
        query + b"\xff" * 100,  # trailing junk
        struct.pack("!HH", 0x1234, 0x8000) + query[4:],  # a response, not a query
        *(bytes(random.getrandbits(8) for _ in range(random.randint(1, 600))) for _ in range(200)),
    ]


def test_malformed_udp_and_tcp_messages_never_stop_the_server_answering(server):
    server.wait_until_answering()
    messages = _malformed_messages()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for message in messages:
            sock.sendto(message, (LOCALHOST, server.port))
    assert a_records(server.wait_until_answering()) == {"10.96.0.20"}
    for message in messages[:40]:
        with socket.create_connection((LOCALHOST, server.port), timeout=5) as conn:
            conn.sendall(len(message).to_bytes(2, "big") + message)
    for prefix in (b"\xff\xff" + b"x" * 10, b"\x00\x00", b"\x05"):  # lies about its length, or stops inside it
        with socket.create_connection((LOCALHOST, server.port), timeout=5) as conn:
            conn.sendall(prefix)
    # A client that keeps a connection open and says nothing does not block the others either.
    with socket.create_connection((LOCALHOST, server.port), timeout=5):
        query = dns.message.make_query("web.default.svc.cluster.local", "A")
        assert a_records(dns.query.tcp(query, LOCALHOST, port=server.port, timeout=5)) == {"10.96.0.20"}
        assert a_records(server.udp("web.default.svc.cluster.local")) == {"10.96.0.20"}
    assert server.proc.poll() is None
