"""How the real agnhost (a Go program) spells things, so netlab's copy reads the same.

Tests written against agnhost match its text: `log` timestamps, `time.Duration` values,
`time.Now()` strings, error messages such as `dial tcp 10.244.1.5:8080: connect: connection
refused`, and cobra's flag and usage errors.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import sys
import time

_START = time.monotonic()


def log(message: str) -> None:
    """Go's log.Printf: `2006/01/02 15:04:05 message`. To stdout, the container's log file."""
    # One write per line, so lines from several threads never interleave.
    sys.stdout.write(time.strftime("%Y/%m/%d %H:%M:%S ", time.localtime()) + message + "\n")
    sys.stdout.flush()


def fatal(message: str) -> None:
    """Go's log.Fatalf: log, then exit 1."""
    log(message)
    sys.exit(1)


def quote(text: str) -> str:
    """Go's %q (strconv.Quote), close enough for messages."""
    return json.dumps(text, ensure_ascii=False)


def marshal(value: object) -> str:
    """Go's json.Marshal: compact, map keys sorted, HTML characters escaped."""
    text = json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                          ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escaped)
    return text


def now_string() -> str:
    """time.Now().String(): `2024-05-01 10:00:00.123456789 +0000 UTC m=+1.000000001`."""
    nanos = time.time_ns()
    local = time.localtime(nanos // 1_000_000_000)
    fraction = f"{nanos % 1_000_000_000:09d}".rstrip("0")
    offset = time.strftime("%z", local)
    monotonic = time.monotonic() - _START
    return (time.strftime("%Y-%m-%d %H:%M:%S", local) + (f".{fraction}" if fraction else "")
            + f" {offset} {local.tm_zone} m=+{monotonic:.9f}")


_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000,
          "s": 1_000_000_000, "m": 60_000_000_000, "h": 3_600_000_000_000}
_TERM = re.compile(r"(\d*)(?:\.(\d*))?([a-zµμ]+)")


def parse_duration(text: str) -> int:
    """time.ParseDuration, in nanoseconds; ValueError carries Go's message."""
    body = text.lstrip("+-")
    sign = -1 if text.startswith("-") else 1
    if body == "0":
        return 0
    if not body:
        raise ValueError(f"time: invalid duration {quote(text)}")
    total, position = 0, 0
    while position < len(body):
        match = _TERM.match(body, position)
        if match is None or not (match.group(1) or match.group(2)):
            if re.fullmatch(r"[\d.]+", body[position:]):
                raise ValueError(f"time: missing unit in duration {quote(text)}")
            raise ValueError(f"time: invalid duration {quote(text)}")
        whole, fraction, unit = match.groups()
        if unit not in _UNITS:
            raise ValueError(f"time: unknown unit {quote(unit)} in duration {quote(text)}")
        scale = _UNITS[unit]
        total += int(whole or "0") * scale
        if fraction:
            total += int(fraction) * scale // 10 ** len(fraction)
        position = match.end()
    return sign * total


def format_duration(nanos: int) -> str:
    """time.Duration.String(): 0s, 250ms, 1.5s, 1m30s, 2h0m0s."""
    if nanos == 0:
        return "0s"
    sign, nanos = ("-", -nanos) if nanos < 0 else ("", nanos)
    if nanos < 1_000_000_000:
        for unit, scale in (("ms", 1_000_000), ("µs", 1_000), ("ns", 1)):
            if nanos >= scale:
                return sign + _decimal(nanos, scale) + unit
    hours, rest = divmod(nanos, 3_600_000_000_000)
    minutes, rest = divmod(rest, 60_000_000_000)
    text = _decimal(rest, 1_000_000_000) + "s"
    if hours or minutes:
        text = f"{minutes}m" + text
    if hours:
        text = f"{hours}h" + text
    return sign + text


def _decimal(value: int, scale: int) -> str:
    whole, fraction = divmod(value, scale)
    digits = f"{fraction:0{len(str(scale)) - 1}d}".rstrip("0") if scale > 1 else ""
    return f"{whole}.{digits}" if digits else str(whole)


def parse_bool(text: str) -> bool:
    """strconv.ParseBool, as pflag uses for `--flag=value`."""
    if text in ("1", "t", "T", "true", "TRUE", "True"):
        return True
    if text in ("0", "f", "F", "false", "FALSE", "False"):
        return False
    raise argparse.ArgumentTypeError(f"strconv.ParseBool: parsing {quote(text)}: invalid syntax")


def parse_int(text: str) -> int:
    """strconv.Atoi: no spaces, no underscores."""
    if not re.fullmatch(r"[+-]?\d+", text):
        raise ValueError(f"strconv.Atoi: parsing {quote(text)}: invalid syntax")
    return int(text)


def errno_text(error: OSError) -> str:
    """syscall.Errno.Error(): `connection refused`, `no route to host`."""
    if error.errno is None:
        return str(error)
    text = os.strerror(error.errno)
    return text[:1].lower() + text[1:]


def join_host_port(host: str, port: int | str) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _nameserver() -> str:
    try:
        with open("/etc/resolv.conf", encoding="utf-8") as conf:
            for line in conf:
                fields = line.split()
                if len(fields) >= 2 and fields[0] == "nameserver":
                    return join_host_port(fields[1], 53)
    except OSError:
        pass
    return ""


def resolve(host: str, port: str, network: str) -> tuple[str, int]:
    """net.ResolveTCPAddr / ResolveUDPAddr: the first IPv4 address, else the first address.

    Raises LookupError with Go's pure-resolver wording (agnhost is built without cgo).
    """
    if port.isdigit():
        number = int(port)
        if number > 65535:
            raise LookupError(f"address {port}: invalid port")
    elif port == "":
        number = 0
    else:
        try:
            number = socket.getservbyname(port, network)
        except OSError:
            raise LookupError(f"lookup {network}/{port}: unknown port") from None
    kind = socket.SOCK_STREAM if network == "tcp" else socket.SOCK_DGRAM
    try:
        return socket.getaddrinfo(host or None, number, socket.AF_INET, kind)[0][4][0], number
    except socket.gaierror:
        pass  # no IPv4 address: fall back to whatever the name has
    try:
        return socket.getaddrinfo(host or None, number, socket.AF_UNSPEC, kind)[0][4][0], number
    except socket.gaierror as exc:
        missing = (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME))
        server = _nameserver()
        where = f" on {server}" if server else ""
        reason = "no such host" if exc.errno in missing else "server misbehaving"
        raise LookupError(f"lookup {host}{where}: {reason}") from None


class CobraParser(argparse.ArgumentParser):
    """argparse that fails like cobra: `Error: ...` on stderr, exit status 1.

    argparse already takes pflag's `--flag=value` and `--flag value`.
    """

    def error(self, message: str):
        print(f"Error: {message}\n", file=sys.stderr)
        self.print_usage(sys.stderr)
        sys.exit(1)


def bool_flag(parser: argparse.ArgumentParser, name: str, default: bool, help_text: str) -> None:
    """A pflag bool: `--name` alone means true; `--name=false` turns it off."""
    parser.add_argument(name, nargs="?", const=True, default=default, type=parse_bool,
                        help=help_text)
