"""parse_duration: what it accepts, and that no input makes it slow or overflow."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from arq_django.ops import durations
from arq_django.ops.durations import parse_duration

HUNDRED_YEARS = 36_525 * 86_400
HUGE = 10**5000


@pytest.mark.parametrize(
    ("text", "expected"),
    [("90", 90), (" 30s ", 30), ("5 m", 300), ("1.5h", 5400), ("2d", 172_800), ("250ms", 0.25), (7, 7)],
)
def test_accepted(text, expected):
    assert parse_duration(text) == timedelta(seconds=expected)


@pytest.mark.parametrize(
    "value",
    ["1000000d", "99999999999999d", "9" * 15, 1e300, math.inf, HUGE, HUNDRED_YEARS + 1],
    ids=lambda v: "huge" if v in (HUGE, -HUGE) else repr(v),
)
def test_longer_than_the_cap_is_a_value_error(value):
    with pytest.raises(ValueError, match="at most 36525 days"):
        parse_duration(value)


@pytest.mark.parametrize(
    "value", [-1, -math.inf, math.nan, -HUGE], ids=lambda v: "huge" if v in (HUGE, -HUGE) else repr(v)
)
def test_negative_and_nan(value):
    with pytest.raises(ValueError, match="must not be negative or NaN"):
        parse_duration(value)


def test_the_pattern_never_sees_long_text(monkeypatch):
    """The quadratic case was 50 000 spaces (6.6 s); the pattern now runs on at most MAX_TEXT characters."""
    seen: list[int] = []
    pattern = durations._PATTERN

    class Spy:
        def fullmatch(self, text: str):
            seen.append(len(text))
            return pattern.fullmatch(text)

    monkeypatch.setattr(durations, "_PATTERN", Spy())
    for text in (" " * 50_000, " " * 50_000 + "1", "1" * 50_000, "1" + " " * 50_000 + "s"):
        with pytest.raises(ValueError, match=r"\(5000[0-9] characters\)"):
            parse_duration(text)
    assert max(seen, default=0) <= 40
    assert parse_duration(" " * 10 + "5m" + " " * 10) == timedelta(minutes=5)
