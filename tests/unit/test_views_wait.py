"""`netlab wait --for=…` and --timeout, as kubectl reads them (pure)."""

from __future__ import annotations

import pytest

from netlab.errors import InvalidInput
from netlab.views.wait import Condition, met, parse_duration, parse_for

POD = {"metadata": {"name": "p"}, "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("delete", Condition("delete")),
        ("condition=Ready", Condition("condition", "Ready", "true")),
        ("condition=Ready=false", Condition("condition", "Ready", "false")),
        ("jsonpath={.status.phase}=Running", Condition("jsonpath", "{.status.phase}", "Running")),
        ("jsonpath=.status.podIP", Condition("jsonpath", "{.status.podIP}", None)),
    ],
)
def test_parse_for(text, want):
    assert parse_for(text) == want


@pytest.mark.parametrize("text", ["ready", "condition=", "jsonpath={.a", "jsonpath={.a}Running"])
def test_bad_for(text):
    with pytest.raises(InvalidInput):
        parse_for(text)


def test_conditions_are_met_like_kubectl():
    assert met(parse_for("condition=ready"), POD)
    assert not met(parse_for("condition=Ready=False"), POD)
    assert not met(parse_for("condition=Available"), POD)
    assert met(parse_for("jsonpath={.status.phase}=Running"), POD)
    assert not met(parse_for("jsonpath={.status.phase}=Pending"), POD)
    assert met(parse_for("jsonpath={.status.phase}"), POD)
    assert not met(parse_for("jsonpath={.status.podIP}"), POD)
    assert met(parse_for("delete"), None)
    assert not met(parse_for("delete"), POD)
    assert not met(parse_for("condition=Ready"), None)


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30), ("1m30s", 90), ("500ms", 0.5), ("1.5h", 5400), ("0", 0), ("-1s", 7 * 24 * 3600)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(("text", "message"), [("10", "missing unit"), ("abc", "invalid duration"), ("5x", "invalid duration")])
def test_bad_durations(text, message):
    with pytest.raises(InvalidInput, match=message):
        parse_duration(text)
