"""The cluster DNS server's sockets: UDP and TCP on one port, answering from the snapshot.

Three small parts:
- `SnapshotWatcher` reloads the Records file when its identity (inode, size, mtime) changes,
  checking every 100 ms on its own thread; an unreadable or malformed file leaves the previous
  zone in place (CoreDNS keeps serving its informer cache the same way).
- `respond` turns query bytes into a response message with dnspython: FORMERR for a broken
  packet, SERVFAIL while no snapshot was ever loaded, otherwise `Zone.answer`.
- `DnsServer` runs the sockets: one selector loop on the main thread for UDP and for
  accepting TCP, one thread per TCP connection (RFC 7766: several length-prefixed queries per
  connection, closed after an idle timeout).
"""

from __future__ import annotations

import os
import selectors
import socket
import sys
import threading
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import dns.exception
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype

from netlab.dns.records import read_records
from netlab.dns.resolver import OUR_EDNS_PAYLOAD, Zone
from netlab.images.serving import dual_stack, host_port

CHECK_INTERVAL = 0.1  # seconds between two stat() calls on the snapshot
TCP_IDLE_TIMEOUT = 10.0  # seconds; CoreDNS's default read timeout for TCP is similar
CLASSIC_UDP_LIMIT = 512  # RFC 1035, for queries without EDNS


@dataclass(frozen=True)
class _FileIdentity:
    inode: int
    size: int
    mtime_ns: int


class SnapshotWatcher:
    """The current Zone, reloaded from `path` by a background thread when the file changes.

    Queries never wait for a reload: they read whichever Zone is current (one reference,
    swapped whole), so a 10k-Service snapshot being parsed does not stall answers.
    """

    def __init__(self, path: Path, log: TextIO) -> None:
        self._path = Path(path)
        self._log = log
        self._zone: Zone | None = None
        self._seen: _FileIdentity | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="snapshot-watcher", daemon=True)

    def start(self) -> None:
        """Load what is there now, then keep watching."""
        self._reload_if_changed()
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()

    def zone(self) -> Zone | None:
        return self._zone

    def _watch(self) -> None:
        while not self._stopping.wait(CHECK_INTERVAL):
            self._reload_if_changed()

    def _reload_if_changed(self) -> None:
        try:
            st = os.stat(self._path)
        except OSError:
            return  # missing (not written yet, or between unlink and rename): keep what we have
        identity = _FileIdentity(st.st_ino, st.st_size, st.st_mtime_ns)
        if identity == self._seen:
            return
        # Remembered even when loading fails: the writer replaces the file atomically, so a
        # fixed snapshot arrives as a new inode; no need to re-parse a broken one every 100 ms.
        self._seen = identity
        try:
            records = read_records(self._path)
            self._zone = Zone.from_records(records)
        except Exception as exc:  # noqa: BLE001 - whatever is wrong with it, keep serving
            print(f"dns: cannot load {self._path}, keeping the previous zone: {exc}",
                  file=self._log, flush=True)
            return
        print(f"dns: loaded {self._path} generation {records.generation} "
              f"({len(records.services)} services, {len(records.pods)} pods)",
              file=self._log, flush=True)


def respond(wire: bytes, zone: Zone | None) -> dns.message.Message | None:
    """The response to one query packet; None when there is nothing to answer (RFC 1035 4.1.1:
    a packet too short for a header, or a response sent to us)."""
    try:
        query = dns.message.from_wire(wire, continue_on_error=True)
    except dns.exception.DNSException:
        return None  # ShortHeader and friends: no ID to answer to
    if query.flags & dns.flags.QR:
        return None
    if query.errors:
        return _error_response(query, dns.rcode.FORMERR)
    if zone is None:
        return _error_response(query, dns.rcode.SERVFAIL)  # no snapshot yet
    return zone.answer(query)


def _error_response(query: dns.message.Message, rcode: dns.rcode.Rcode) -> dns.message.Message:
    response = dns.message.make_response(query, our_payload=OUR_EDNS_PAYLOAD)
    response.flags |= dns.flags.RA  # as every answer (resolver.Zone.answer)
    response.set_rcode(rcode)
    return response


def udp_size_limit(query_payload: int, edns: int) -> int:
    """512 bytes without EDNS; the client's advertised size with it, capped at ours."""
    if edns < 0:
        return CLASSIC_UDP_LIMIT
    return max(CLASSIC_UDP_LIMIT, min(query_payload, OUR_EDNS_PAYLOAD))


def log_line(response: dns.message.Message, client: tuple[str, int], transport: str) -> str:
    qname, qtype = "-", "-"
    if response.question:  # a question is an RRset without rdata, so test the list only
        qname = response.question[0].name.to_text()
        qtype = dns.rdatatype.to_text(response.question[0].rdtype)
    rcode = dns.rcode.to_text(response.rcode())
    return f"{qname} {qtype} {rcode} {host_port(client)} {transport}\n"


class DnsServer:
    """UDP and TCP on `bind:port`; `serve_forever` returns after `stop` (e.g. on SIGTERM)."""

    def __init__(
        self, bind: str, port: int, watcher: SnapshotWatcher, log: TextIO, errors: TextIO
    ) -> None:
        self._watcher = watcher
        self._log = log
        self._errors = errors
        self._log_lock = threading.Lock()
        self._stopping = threading.Event()
        family = socket.AF_INET6 if ":" in bind else socket.AF_INET
        self._udp = dual_stack(socket.socket(family, socket.SOCK_DGRAM))
        self._tcp = dual_stack(socket.socket(family, socket.SOCK_STREAM))
        self._wake_r, self._wake_w = socket.socketpair()
        try:
            self._tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._udp.bind((bind, port))
            self._tcp.bind((bind, port))
            self._tcp.listen(128)
        except OSError:
            self.close()
            raise
        self._wake_w.setblocking(False)

    def serve_forever(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self._udp, selectors.EVENT_READ, self._on_udp)
            selector.register(self._tcp, selectors.EVENT_READ, self._on_accept)
            selector.register(self._wake_r, selectors.EVENT_READ, None)
            while not self._stopping.is_set():
                for key, _ in selector.select():
                    if key.data is not None:
                        key.data()
        self.close()

    def stop(self) -> None:
        """Safe from a signal handler: sets a flag and wakes the selector."""
        self._stopping.set()
        try:
            self._wake_w.send(b"\0")
        except OSError:
            pass

    def close(self) -> None:
        for sock in (self._udp, self._tcp, self._wake_r, self._wake_w):
            sock.close()

    def _on_udp(self) -> None:
        try:
            wire, client = self._udp.recvfrom(65535)
        except OSError:
            return
        response = self._respond(wire)
        if response is None:
            return
        limit = udp_size_limit(response.request_payload, response.edns)
        # dnspython truncates at the limit and sets TC (RFC 2181 9), so the client retries
        # over TCP.
        out = response.to_wire(max_size=limit, prefer_truncation=True)
        try:
            self._udp.sendto(out, client)
        except OSError:
            return
        self._write_log(response, client, "udp")

    def _on_accept(self) -> None:
        try:
            conn, client = self._tcp.accept()
        except OSError:
            return
        threading.Thread(target=self._serve_tcp, args=(conn, client), daemon=True).start()

    def _serve_tcp(self, conn: socket.socket, client: tuple[str, int]) -> None:
        conn.settimeout(TCP_IDLE_TIMEOUT)
        with conn:
            while not self._stopping.is_set():
                wire = _read_tcp_message(conn)
                if wire is None:
                    return
                response = self._respond(wire)
                if response is None:
                    return
                try:
                    conn.sendall(response.to_wire(max_size=65535, prepend_length=True,
                                                  prefer_truncation=True))
                except OSError:
                    return
                self._write_log(response, client, "tcp")

    def _respond(self, wire: bytes) -> dns.message.Message | None:
        try:
            return respond(wire, self._watcher.zone())
        except Exception:  # a bug must cost one answer, not the cluster's DNS
            traceback.print_exc(file=self._errors)
            return None

    def _write_log(self, response: dns.message.Message, client, transport: str) -> None:
        line = log_line(response, client, transport)
        with self._log_lock:
            self._log.write(line)


def _read_tcp_message(conn: socket.socket) -> bytes | None:
    """One DNS message from a TCP stream (RFC 1035 4.2.2: a two-byte length, then the
    message); None at end of stream, on timeout or on error."""
    header = _read_exactly(conn, 2)
    if header is None:
        return None
    return _read_exactly(conn, int.from_bytes(header, "big"))


def _read_exactly(conn: socket.socket, count: int) -> bytes | None:
    chunks = bytearray()
    while len(chunks) < count:
        try:
            chunk = conn.recv(count - len(chunks))
        except OSError:
            return None
        if not chunk:
            return None
        chunks += chunk
    return bytes(chunks)


def stdout_log() -> TextIO:
    """Line-buffered stdout, so each query line reaches the pod's log file as it happens."""
    sys.stdout.reconfigure(line_buffering=True)
    return sys.stdout
