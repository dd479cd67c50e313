"""Container logs in the CRI format — the pure part: records, timestamps, and what `logs` shows.

A container runtime writes one file per container instance, one record a line (containerd's
`pkg/cri/io/logger.go`, CRI-O's conmon; read by the kubelet's `pkg/kubelet/kuberuntime/logs`):

    2016-10-06T00:17:09.669794202Z stdout F the line
    2016-10-06T00:17:09.669794202Z stderr P the first 16 KiB of a longer line

`F` ends a line, `P` is a part of one that goes on in the stream's next record (a line longer
than MAX_LINE, or the unfinished end of a stream). `logcollector.py` writes them; the kubelet's
`logs` reads them back through `decode` and `render` below.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from typing import BinaryIO, Iterable, Iterator

STDOUT, STDERR = "stdout", "stderr"
FULL, PARTIAL = b"F", b"P"
# containerd's `max_container_log_line_size` default: a longer line is cut into P records.
MAX_LINE = 16 * 1024


def format_timestamp(nanos: int) -> str:
    """Go's time.RFC3339Nano in UTC, as containerd writes it: trailing zeros of the fraction
    dropped, and the fraction with them when it is zero."""
    seconds, fraction = divmod(nanos, 1_000_000_000)
    text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    if fraction:
        text += "." + f"{fraction:09d}".rstrip("0")
    return text + "Z"


_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$"
)


def parse_timestamp(text: str) -> int:
    """An RFC 3339 time (with or without a fraction, `Z` or an offset) in nanoseconds since the
    epoch; ValueError when it is not one."""
    m = _RFC3339.match(text)
    if m is None:
        raise ValueError(f'parsing time "{text}" as RFC3339: not a time like 2006-01-02T15:04:05Z')
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 61):
        raise ValueError(f'parsing time "{text}": a field is out of range')
    import calendar  # here: `exec` loads this module and never parses a time

    seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    if m.group(9):  # an offset east of UTC means the UTC time is earlier
        offset = int(m.group(10)) * 3600 + int(m.group(11)) * 60
        seconds -= offset if m.group(9) == "+" else -offset
    fraction = int((m.group(7) or "").ljust(9, "0") or 0)
    return seconds * 1_000_000_000 + fraction


_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNIT = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """A Go duration (`5s`, `2m`, `1h30m`, `500ms`) in seconds, as kubectl's `--since` takes it."""
    pos, total = 0, 0.0
    body = text[1:] if text[:1] in "+-" else text
    if body in ("", "0"):
        if body == "0":
            return 0.0
        raise ValueError(f'time: invalid duration "{text}"')
    while pos < len(body):
        m = _DURATION.match(body, pos)
        if m is None:
            raise ValueError(f'time: invalid duration "{text}"')
        total += float(m.group(1)) * _UNIT[m.group(2)]
        pos = m.end()
    return -total if text.startswith("-") else total


def since_seconds(duration: float) -> int:
    """kubectl sends `--since` as whole seconds, rounded up (`sinceSeconds`)."""
    return int(math.ceil(duration))


# --- writing: bytes read from a stream -> records --------------------------------------------


def record(nanos: int, stream: str, tag: bytes, content: bytes) -> bytes:
    return b"%s %s %s %s\n" % (format_timestamp(nanos).encode(), stream.encode(), tag, content)


class Splitter:
    """One stream's bytes -> CRI records, as containerd's `redirectLogs`: a record per line
    (the newline dropped), a line longer than MAX_LINE cut into P records of MAX_LINE bytes
    and a last F. Unlike containerd, which holds an unfinished line in memory until its
    newline, `flush` writes what is pending as a P record whenever the pipe is drained: a
    shim killed meanwhile then loses nothing it had read, and readers join P records anyway."""

    def __init__(self, stream: str, max_line: int = MAX_LINE) -> None:
        self.stream, self.max_line = stream, max_line
        self._pending = b""

    def feed(self, data: bytes, nanos: int) -> list[bytes]:
        """The records of the lines `data` completes (one read: one timestamp, as containerd
        stamps a line when it has read it)."""
        data = self._pending + data
        cut = data.rfind(b"\n") + 1
        lines, self._pending = data[:cut].split(b"\n")[:-1], data[cut:]
        head = b"%s %s " % (format_timestamp(nanos).encode(), self.stream.encode())
        full, part = head + FULL + b" ", head + PARTIAL + b" "
        out = []
        for line in lines:
            while len(line) > self.max_line:
                out.append(part + line[: self.max_line] + b"\n")
                line = line[self.max_line :]
            out.append(full + line + b"\n")
        while len(self._pending) > self.max_line:
            out.append(part + self._pending[: self.max_line] + b"\n")
            self._pending = self._pending[self.max_line :]
        return out

    def flush(self, nanos: int) -> list[bytes]:
        """The unfinished line so far, as a P record (none when there is nothing pending)."""
        if not self._pending:
            return []
        pending, self._pending = self._pending, b""
        return [record(nanos, self.stream, PARTIAL, pending)]


# --- reading: records -> what `logs` prints ----------------------------------------------------


@dataclass(frozen=True)
class Record:
    time: str  # as written, RFC3339Nano
    stream: str
    partial: bool
    content: bytes  # without the newline


def parse_record(line: bytes) -> Record | None:
    """One line of a CRI log (without its newline); None when it is not a record (the kubelet
    reports such a line as an error and goes on)."""
    parts = line.split(b" ", 3)
    if len(parts) < 3 or parts[1] not in (b"stdout", b"stderr") or parts[2] not in (FULL, PARTIAL):
        return None
    return Record(parts[0].decode(errors="replace"), parts[1].decode(), parts[2] == PARTIAL, parts[3] if len(parts) > 3 else b"")


@dataclass(frozen=True)
class Line:
    """One line of a container's output: its stream's records up to an F, joined."""

    time: bytes  # its first record's, as written (RFC3339Nano, UTC)
    stream: bytes
    content: bytes
    complete: bool  # ended by its newline (False: the stream ended, or is still writing it)

    @property
    def nanos(self) -> int:
        try:
            return parse_timestamp(self.time.decode())
        except ValueError:
            return 0

    def render(self, timestamps: bool) -> bytes:
        text = self.content + b"\n" if self.complete else self.content
        # The runtime wrote the time as kubectl prints it (RFC3339Nano in UTC): as it is.
        return self.time + b" " + text if timestamps else text


class Decoder:
    """A CRI log, fed in chunks as it is read (and re-read while following), -> its lines."""

    def __init__(self) -> None:
        self._rest = b""
        self._open: dict[bytes, list[list[bytes]]] = {}  # per stream: its P records so far

    def feed(self, data: bytes) -> list[Line]:
        data = self._rest + data
        cut = data.rfind(b"\n") + 1
        self._rest = data[cut:]  # a record still being written
        out = []
        for raw in data[:cut].split(b"\n")[:-1]:
            fields = raw.split(b" ", 3)
            if len(fields) < 3 or fields[1] not in _STREAMS or fields[2] not in (FULL, PARTIAL):
                continue  # not a record: the kubelet reports it and goes on
            if len(fields) == 3:
                fields.append(b"")
            stream = fields[1]
            parts = self._open.get(stream)
            if fields[2] == FULL:
                if parts is None:  # the common case: a line in one record
                    out.append(Line(fields[0], stream, fields[3], True))
                else:
                    parts.append(fields)
                    out.append(_joined(parts, complete=True))
                    del self._open[stream]
            elif parts is None:
                self._open[stream] = [fields]
            else:
                parts.append(fields)
        return out

    def finish(self) -> list[Line]:
        """The lines still open at the end of the file (a stream that ended without newline)."""
        out = [_joined(parts, complete=False) for parts in self._open.values()]
        self._open.clear()
        return sorted(out, key=lambda line: line.nanos)


_STREAMS = (STDOUT.encode(), STDERR.encode())


def _joined(parts: list[list[bytes]], complete: bool) -> Line:
    return Line(parts[0][0], parts[0][1], b"".join(p[3] for p in parts), complete)


def decode(data: bytes) -> list[Line]:
    """Every line of a whole CRI log."""
    decoder = Decoder()
    return decoder.feed(data) + decoder.finish()


@dataclass(frozen=True)
class Options:
    """kubectl's PodLogOptions that shape the output (the kubelet applies them to the file)."""

    timestamps: bool = False
    since: int | None = None  # nanoseconds since the epoch: lines from then on
    tail: int | None = -1  # the last N lines (-1 or None: all)
    limit_bytes: int | None = None


def select(lines: Iterable[Line], options: Options) -> list[Line]:
    """The lines `--since`/`--since-time` and `--tail` keep (since first, as the kubelet does)."""
    kept = list(lines)
    if options.since is not None:
        # The runtime writes UTC times, whose first 19 characters (to the second) sort as
        # text: only the lines of the very second are parsed.
        second = format_timestamp(options.since).encode()[:19]
        kept = [line for line in kept if line.time[:19] > second or (line.time[:19] == second and line.nanos >= options.since)]
    if options.tail is not None and options.tail >= 0:
        kept = kept[len(kept) - options.tail :] if options.tail else []
    return kept


def tail_offset(f: BinaryIO, lines: int, block: int = 1 << 16) -> int:
    """Where the last `lines` lines of a CRI log start, found reading back from its end (the
    kubelet's `tail.FindTailLineStartIndex`, counting F records: a line's P records come
    with it), so `--tail` of a big log does not decode all of it."""
    f.seek(0, 2)
    pos = end = f.tell()  # end: just past the newline of the earliest record counted so far
    rest: bytes | None = None  # the start of a record whose beginning is in the next block back
    fulls = 0
    while pos > 0:
        step = min(block, pos)
        pos -= step
        f.seek(pos)
        buf = f.read(step) + (rest or b"")
        pieces = buf.split(b"\n")
        if rest is None:
            end = pos + len(buf) - len(pieces.pop())  # leave out a record still being written
            if not pieces:
                continue  # and all of this block is that record
        rest, whole = (pieces[0], pieces[1:]) if pos > 0 else (b"", pieces)
        for record in reversed(whole):
            if record.split(b" ", 3)[2:3] == [FULL]:
                fulls += 1
                if fulls > lines:
                    return end
            end -= len(record) + 1
    return 0


class Limit:
    """`--limit-bytes`: the output stops after that many bytes (timestamps included, as the
    kubelet's LimitedWriter counts them)."""

    def __init__(self, limit: int | None) -> None:
        self.left = limit

    def take(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            if self.left is None:
                yield chunk
                continue
            if self.left <= 0:
                return
            yield chunk[: self.left]
            self.left -= len(chunk)

    @property
    def reached(self) -> bool:
        return self.left is not None and self.left <= 0
