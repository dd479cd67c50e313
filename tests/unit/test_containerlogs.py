"""Container logs in the CRI format: records as containerd writes them, read back as the
kubelet's log reader does (kernel/containerlogs.py)."""

from __future__ import annotations

import pytest

from netlab.kernel import containerlogs as cri
from netlab.kernel.containerlogs import Decoder, Options, Splitter

T0 = 1475712229669794202  # 2016-10-06T00:03:49.669794202Z


def test_timestamps_are_rfc3339nano_as_go_prints_them():
    assert cri.format_timestamp(T0) == "2016-10-06T00:03:49.669794202Z"
    assert cri.format_timestamp(1475712229_500000000) == "2016-10-06T00:03:49.5Z"  # trailing zeros dropped
    assert cri.format_timestamp(1475712229_000000000) == "2016-10-06T00:03:49Z"  # and a zero fraction


def test_timestamps_parse_back_with_fraction_zone_or_offset():
    assert cri.parse_timestamp("2016-10-06T00:03:49.669794202Z") == T0
    assert cri.parse_timestamp("2016-10-06T02:03:49.669794202+02:00") == T0
    assert cri.parse_timestamp("2016-10-05T23:03:49.669794202-01:00") == T0
    assert cri.parse_timestamp("2016-10-06T00:03:49Z") == 1475712229_000000000
    assert cri.parse_timestamp("2016-10-06T00:03:49.5Z") == 1475712229_500000000
    for bad in ("yesterday", "2016-10-06 00:03:49Z", "2016-13-06T00:03:49Z", "2016-10-06T00:03:49"):
        with pytest.raises(ValueError):
            cri.parse_timestamp(bad)


def test_durations_as_kubectl_since_takes_them():
    assert cri.parse_duration("5s") == 5
    assert cri.parse_duration("2m") == 120
    assert cri.parse_duration("1h30m") == 5400
    assert cri.parse_duration("500ms") == 0.5
    assert cri.since_seconds(0.5) == 1  # sent as whole seconds, rounded up
    for bad in ("5", "s", "5 s", "five seconds", ""):
        with pytest.raises(ValueError):
            cri.parse_duration(bad)


def test_each_line_is_one_full_record_with_its_stream():
    out = Splitter("stdout").feed(b"one\ntwo\n", T0)
    err = Splitter("stderr").feed(b"oops\n", T0)

    assert out == [
        b"2016-10-06T00:03:49.669794202Z stdout F one\n",
        b"2016-10-06T00:03:49.669794202Z stdout F two\n",
    ]
    assert err == [b"2016-10-06T00:03:49.669794202Z stderr F oops\n"]


def test_a_line_split_over_reads_waits_for_its_newline_until_the_pipe_is_drained():
    s = Splitter("stdout")
    assert s.feed(b"hel", T0) == []
    assert s.feed(b"lo\nwor", T0) == [cri.record(T0, "stdout", b"F", b"hello")]
    # Drained with "wor" pending: written as a part, so a killed shim loses nothing it read.
    assert s.flush(T0) == [cri.record(T0, "stdout", b"P", b"wor")]
    assert s.flush(T0) == []
    assert s.feed(b"ld\n", T0) == [cri.record(T0, "stdout", b"F", b"ld")]


def test_a_line_longer_than_16_KiB_is_cut_into_partial_records_as_containerd_does():
    line = b"x" * (2 * cri.MAX_LINE + 100)
    records = Splitter("stdout").feed(line + b"\n", T0)

    tags = [r.split(b" ", 3)[2] for r in records]
    contents = [r.split(b" ", 3)[3].rstrip(b"\n") for r in records]
    assert tags == [b"P", b"P", b"F"]
    assert [len(c) for c in contents] == [cri.MAX_LINE, cri.MAX_LINE, 100]
    exactly = Splitter("stdout").feed(b"y" * cri.MAX_LINE + b"\n", T0)
    assert [r.split(b" ", 3)[2] for r in exactly] == [b"F"]  # longer than, not as long as


def test_an_unfinished_long_line_is_written_in_parts_before_its_newline():
    s = Splitter("stdout")
    records = s.feed(b"z" * (cri.MAX_LINE + 5), T0)
    assert [r.split(b" ", 3)[2] for r in records] == [b"P"]
    assert s.flush(T0) == [cri.record(T0, "stdout", b"P", b"zzzzz")]


def test_records_parse_back_and_garbage_is_skipped():
    assert cri.parse_record(b"2016-10-06T00:17:09.669794202Z stdout F the line") == cri.Record(
        "2016-10-06T00:17:09.669794202Z", "stdout", False, b"the line"
    )
    assert cri.parse_record(b"2016-10-06T00:17:09Z stderr P ") == cri.Record("2016-10-06T00:17:09Z", "stderr", True, b"")
    assert cri.parse_record(b"2016-10-06T00:17:09Z stdout F  two  spaces ").content == b" two  spaces "
    assert cri.parse_record(b"not a record") is None
    assert cri.parse_record(b"2016-10-06T00:17:09Z stdin F x") is None


def test_partial_records_join_into_one_line_with_the_first_records_time():
    log = (
        cri.record(T0, "stdout", b"P", b"hel")
        + cri.record(T0 + 1, "stderr", b"F", b"meanwhile")
        + cri.record(T0 + 2, "stdout", b"F", b"lo")
        + cri.record(T0 + 3, "stdout", b"P", b"no newline")
    )
    lines = cri.decode(log)

    assert [(line.stream, line.content, line.complete, line.nanos) for line in lines] == [
        (b"stderr", b"meanwhile", True, T0 + 1),
        (b"stdout", b"hello", True, T0),
        (b"stdout", b"no newline", False, T0 + 3),
    ]
    assert lines[1].render(timestamps=True) == b"2016-10-06T00:03:49.669794202Z hello\n"
    assert lines[2].render(timestamps=False) == b"no newline"


def test_the_decoder_keeps_a_record_still_being_written_for_the_next_read():
    d = Decoder()
    whole = cri.record(T0, "stdout", b"F", b"abc")
    assert d.feed(whole[:10]) == []
    assert [line.content for line in d.feed(whole[10:])] == [b"abc"]


def test_since_then_tail_then_limit_bytes():
    lines = cri.decode(b"".join(cri.record(T0 + i * 1_000_000_000, "stdout", b"F", b"line %d" % i) for i in range(6)))

    assert [line.content for line in cri.select(lines, Options(since=T0 + 2_000_000_000))] == [b"line 2", b"line 3", b"line 4", b"line 5"]
    assert [line.content for line in cri.select(lines, Options(since=T0 + 2_000_000_000, tail=2))] == [b"line 4", b"line 5"]
    assert cri.select(lines, Options(tail=0)) == []
    assert len(cri.select(lines, Options(tail=-1))) == 6
    limit = cri.Limit(10)
    assert b"".join(limit.take(line.render(False) for line in lines)) == b"line 0\nlin"
    assert limit.reached


def test_tail_starts_reading_near_the_end_and_keeps_a_lines_partial_records(tmp_path):
    records = [cri.record(T0, "stdout", b"F", b"line %d" % i) for i in range(5000)]
    records += [cri.record(T0, "stdout", b"P", b"long "), cri.record(T0, "stdout", b"F", b"end")]
    path = tmp_path / "0.log"
    path.write_bytes(b"".join(records) + b"2016-10-06T00:03:49Z stdout F a record being wri" + b"t" * 1000)

    with open(path, "rb") as f:
        for n in (0, 1, 2, 3, 4999, 5001, 9999):
            f.seek(cri.tail_offset(f, n, block=256))
            assert cri.select(cri.decode(f.read()), Options(tail=n)) == cri.select(cri.decode(path.read_bytes()), Options(tail=n))
        f.seek(cri.tail_offset(f, 1, block=256))
        assert [line.content for line in cri.decode(f.read())] == [b"long end"]
