"""``30s``, ``5m``, ``1h``, ``2d`` (or plain seconds) as given to ``--defer``, ``--since`` and the API."""

from __future__ import annotations

import math
import re
from datetime import timedelta

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
# Anchored, no nested repetition, and matched against a capped text: linear time on any input.
_PATTERN = re.compile(r"\s*([0-9]{1,15}(?:\.[0-9]{1,9})?)\s*(ms|s|m|h|d)?\s*")
MAX_TEXT = 40
"""Longest duration text accepted (``"99999 d"`` needs 7)."""
MAX_DURATION = timedelta(days=36_525)
"""100 years: longer durations are refused, so date arithmetic on them cannot overflow."""


def parse_duration(text: str | int | float) -> timedelta:
    """A non-negative duration of at most :data:`MAX_DURATION`; raises ``ValueError`` with an example
    of what is accepted."""
    if isinstance(text, bool):
        raise ValueError(f"not a duration: {text!r}")
    if isinstance(text, (int, float)):
        if (isinstance(text, float) and math.isnan(text)) or text < 0:
            raise ValueError("a duration must not be negative or NaN")
        if text > MAX_DURATION.total_seconds():  # no repr: a huge int's digits can fill a page
            raise ValueError(f"a duration must be at most {MAX_DURATION.days} days of seconds")
        seconds = float(text)
    elif isinstance(text, str):
        match = _PATTERN.fullmatch(text) if len(text) <= MAX_TEXT else None
        if match is None:
            shown = text if len(text) <= MAX_TEXT else f"{text[:MAX_TEXT]}... ({len(text)} characters)"
            raise ValueError(f"not a duration: {shown!r}; use e.g. 90, 30s, 5m, 1h or 2d")
        number, unit = match.groups()
        seconds = float(number) * _UNITS[unit or "s"]
    else:
        raise ValueError(f"not a duration: {type(text).__name__}; use e.g. 90, 30s, 5m, 1h or 2d")
    if seconds > MAX_DURATION.total_seconds():
        raise ValueError(f"a duration must be at most {MAX_DURATION.days} days, got {text!r}")
    return timedelta(seconds=seconds)
