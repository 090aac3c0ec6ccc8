"""``30s``, ``5m``, ``1h``, ``2d`` (or plain seconds) as given to ``--defer``, ``--since`` and the API."""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")


def parse_duration(text: str | int | float) -> timedelta:
    """A non-negative duration; raises ``ValueError`` with an example of what is accepted."""
    if isinstance(text, bool):
        raise ValueError(f"not a duration: {text!r}")
    if isinstance(text, (int, float)):
        if text < 0:
            raise ValueError(f"a duration must not be negative, got {text!r}")
        return timedelta(seconds=text)
    match = _PATTERN.match(text)
    if match is None:
        raise ValueError(f"not a duration: {text!r}; use e.g. 90, 30s, 5m, 1h or 2d")
    number, unit = match.groups()
    return timedelta(seconds=float(number) * _UNITS[unit or "s"])
