"""Shared bits of the operations commands: ``--json`` output, durations and JSON arguments."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import redis
from django.core.management.base import CommandError, OutputWrapper
from django.utils import timezone

from arq_django.connection import redis_failure
from arq_django.ops.durations import parse_duration
from arq_django.ops.encoding import OpsJSONEncoder


@contextlib.contextmanager
def redis_errors(doing: str) -> Iterator[None]:
    """Redis away: one line and exit status 1 (``CommandError``), not a traceback."""
    try:
        yield
    except redis.RedisError as e:
        raise CommandError(
            f"could not {doing}: {redis_failure(e)}. Check ARQ_DJANGO['REDIS_URL'] and that Redis is running."
        ) from e


def write_json(stdout: OutputWrapper, data: Any) -> None:
    stdout.write(json.dumps(data, cls=OpsJSONEncoder, indent=2, sort_keys=True))


def duration(option: str, text: str) -> timedelta:
    try:
        return parse_duration(text)
    except ValueError as e:
        raise CommandError(f"{option}: {e}") from e


def since(text: str | None) -> datetime | None:
    """``--since 1h`` as the moment one hour ago."""
    return None if text is None else timezone.now() - duration("--since", text)


def json_argument(option: str, text: str | None, kind: type, example: str) -> Any:
    if text is None:
        return kind()
    try:
        value = json.loads(text)
    except ValueError as e:
        raise CommandError(f"{option} is not valid JSON ({e}); e.g. {option} '{example}'") from e
    if not isinstance(value, kind):
        raise CommandError(f"{option} must be a JSON {kind.__name__}, e.g. {option} '{example}'")
    return value


def ago(epoch: float | None, now: float) -> str:
    if epoch is None:
        return "-"
    seconds = max(now - epoch, 0.0)
    if seconds < 120:
        return f"{seconds:.0f}s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m ago"
    return f"{seconds / 3600:.1f}h ago"


def table(headers: list[str], rows: list[list[Any]]) -> list[str]:
    """Rows as aligned text lines: the first column left-aligned, the rest right-aligned."""
    cells = [headers, *[[str(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for row in cells:
        pairs = enumerate(zip(row, widths, strict=True))
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in pairs))
    return lines
