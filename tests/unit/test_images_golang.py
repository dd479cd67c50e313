"""The pure pieces of netlab's agnhost: Go's spelling of durations, JSON, errors and flags."""

from __future__ import annotations

import errno
import re
import socket

import pytest

from netlab.images.agnhost import (dns, golang, netexec, netexec_sockets, subcommand_of,
                                   without_klog_flags)
from netlab.images.agnhost.connect import split_host_port


@pytest.mark.parametrize("text, nanos", [
    ("0", 0), ("5s", 5_000_000_000), ("1m30s", 90_000_000_000), ("100ms", 100_000_000),
    ("1.5h", 5_400_000_000_000), ("250us", 250_000), ("3µs", 3_000), ("-2s", -2_000_000_000),
    (".5s", 500_000_000),
])
def test_parse_duration_accepts_go_durations(text, nanos):
    assert golang.parse_duration(text) == nanos


@pytest.mark.parametrize("text, message", [
    ("", 'time: invalid duration ""'),
    ("5", 'time: missing unit in duration "5"'),
    ("abc", 'time: invalid duration "abc"'),
    ("5x", 'time: unknown unit "x" in duration "5x"'),
])
def test_parse_duration_rejects_with_go_messages(text, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        golang.parse_duration(text)


@pytest.mark.parametrize("nanos, text", [
    (0, "0s"), (1_000_000_000, "1s"), (90_000_000_000, "1m30s"), (7_200_000_000_000, "2h0m0s"),
    (1_500_000_000, "1.5s"), (250_000_000, "250ms"), (1_500, "1.5µs"), (7, "7ns"),
])
def test_format_duration_is_go_duration_string(nanos, text):
    assert golang.format_duration(nanos) == text


def test_marshal_is_compact_sorted_and_html_escaped_like_go():
    value = {"responses": ["<b>&"], "errors": ["x"]}
    assert golang.marshal(value) == '{"errors":["x"],"responses":["\\u003cb\\u003e\\u0026"]}'
    assert golang.marshal({}) == "{}"


def test_now_string_looks_like_go_time_now():
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{1,9})? [+-]\d{4} \S+ m=\+\d+\.\d{9}",
                        golang.now_string())


def test_errno_text_is_lower_case_like_syscall_errno():
    assert golang.errno_text(OSError(errno.ECONNREFUSED, "x")) == "connection refused"
    assert golang.errno_text(OSError(errno.EHOSTUNREACH, "x")) == "no route to host"


def test_parse_int_is_strict_like_atoi():
    assert golang.parse_int("-3") == -3
    with pytest.raises(ValueError, match='strconv.Atoi: parsing "1_0": invalid syntax'):
        golang.parse_int("1_0")


def test_resolve_takes_ip_literals_and_localhost_without_dns():
    assert golang.resolve("127.0.0.1", "8080", "tcp") == ("127.0.0.1", 8080)
    assert golang.resolve("localhost", "53", "udp") == ("127.0.0.1", 53)


def test_resolve_words_a_missing_name_like_go(monkeypatch, tmp_path):
    def no_such_host(*_args):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)
    monkeypatch.setattr(golang, "_nameserver", lambda: "10.96.0.10:53")
    with pytest.raises(LookupError) as failure:
        golang.resolve("web.nowhere", "80", "tcp")
    assert str(failure.value) == "lookup web.nowhere on 10.96.0.10:53: no such host"


def test_resolve_rejects_bad_ports_like_go():
    with pytest.raises(LookupError, match="address 70000: invalid port"):
        golang.resolve("127.0.0.1", "70000", "tcp")
    with pytest.raises(LookupError, match="lookup tcp/nope-not-a-service: unknown port"):
        golang.resolve("127.0.0.1", "nope-not-a-service", "tcp")


@pytest.mark.parametrize("dest, result", [
    ("10.0.0.1:80", ("10.0.0.1", "80")), ("[fd00::1]:53", ("fd00::1", "53")),
    ("web:8080", ("web", "8080")),
])
def test_split_host_port(dest, result):
    assert split_host_port(dest) == result


@pytest.mark.parametrize("dest, message", [
    ("10.0.0.1", "address 10.0.0.1: missing port in address"),
    ("fd00::1:53", "address fd00::1:53: too many colons in address"),
])
def test_split_host_port_errors_are_gos(dest, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        split_host_port(dest)


def test_canonical_header_key():
    assert netexec.canonical_header_key("x-forwarded-FOR") == "X-Forwarded-For"


def test_udp_commands_are_trimmed_and_lower_cased_like_upstream():
    name = socket.gethostname().encode()
    assert netexec_sockets.command_answer(b" HOSTNAME\n", "10.0.0.9:4000", "UDP") == name
    assert netexec_sockets.command_answer(b"echo Hello World", "10.0.0.9:4000",
                                          "UDP") == b"hello world"
    assert netexec_sockets.command_answer(b"clientip", "10.0.0.9:4000", "UDP") == b"10.0.0.9:4000"
    assert netexec_sockets.command_answer(b"what", "10.0.0.9:4000", "UDP") is None
    assert netexec_sockets.command_answer(b"", "10.0.0.9:4000", "UDP") is None


def test_subcommand_skips_klog_flags():
    assert subcommand_of(["--v=4", "netexec", "--http-port=80"]) == "netexec"
    assert subcommand_of(["--v", "4", "pause"]) == "pause"
    assert subcommand_of(["--logtostderr", "connect", "x:1"]) == "connect"
    assert subcommand_of([]) is None
    assert without_klog_flags(["netexec", "--v", "2", "--udp-port=-1"]) == ["netexec",
                                                                           "--udp-port=-1"]


def test_dns_suffix_and_server_list_read_the_first_matching_line(tmp_path, monkeypatch, capsys):
    conf = tmp_path / "resolv.conf"
    conf.write_text("nameserver 10.96.0.10\nnameserver 10.96.0.11\n"
                    "search team-a.svc.cluster.local svc.cluster.local cluster.local\n"
                    "options ndots:5\n")
    monkeypatch.setattr(dns, "RESOLV_CONF", str(conf))
    assert dns.dns_suffix([]) == 0
    assert dns.dns_server_list([]) == 0
    assert capsys.readouterr().out == (
        "team-a.svc.cluster.local,svc.cluster.local,cluster.local\n10.96.0.10\n")


def test_dns_suffix_without_search_line_fails_like_upstream_panic(tmp_path, monkeypatch, capsys):
    conf = tmp_path / "resolv.conf"
    conf.write_text("nameserver 10.96.0.10\n")
    monkeypatch.setattr(dns, "RESOLV_CONF", str(conf))
    assert dns.dns_suffix([]) == 2
    assert "Could not find DNS search list!" in capsys.readouterr().err


def test_etc_hosts_prints_the_file(tmp_path, monkeypatch, capsys):
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost\n10.244.1.7 pod-a\n")
    monkeypatch.setattr(dns, "HOSTS", str(hosts))
    assert dns.etc_hosts([]) == 0
    assert capsys.readouterr().out == "127.0.0.1 localhost\n10.244.1.7 pod-a\n\n"
