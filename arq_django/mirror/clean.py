"""What the database can hold: values that would refuse or corrupt a row, made writable where they enter.

PostgreSQL refuses a NUL character in text and JSON and a lone surrogate in JSON, a text longer than
its ``varchar(255)`` and an integer past 2**31 - 1; SQLite takes them and stores a NUL-cut text or
invalid UTF-8 (which then breaks every read of the row). Redis keeps the job's real values; the mirror
keeps a readable copy: a NUL becomes the four characters ``\\x00``, a lone surrogate ``\\udXXX``, a job id
past 255 characters its first 200 plus a hash of the whole (so two long ids stay two rows).

:func:`looks_unwritable` is the cheap test on a whole encoded batch; :func:`clean_row` the per-row
work, done only for a batch that failed it or a row the database refused.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Final, NamedTuple

from arq_django.mirror.rows import TEXT_FIELDS, RowUpdate

MAX_CHARS: Final = 255
"""``job_id``, ``function``, ``queue_name`` and ``worker`` are ``varchar(255)``."""
MAX_INT: Final = 2**31 - 1
"""``tries`` and ``max_tries``: ``PositiveIntegerField``, a 4-byte integer on PostgreSQL."""
_SHORT: Final = frozenset({"function", "queue_name", "worker"})
_JSON: Final = ("args", "kwargs", "result")
_SURROGATES: Final = re.compile(r"\\ud[89ab][0-9a-f]{2}\\ud[c-f][0-9a-f]{2}|(\\ud[89a-f][0-9a-f]{2})")
"""A surrogate pair (no group) or a lone surrogate (group 1), as ``json.dumps`` (``ensure_ascii``)
escapes them. Exact on a batch with one level of escapes: literal text ``\\ud...`` shows as
``\\\\ud...`` (a false alarm at worst), and cannot pass for the second half of a pair."""


class Cleaned(NamedTuple):
    """A JSON field's value already turned into (clean) JSON data: the writer sends it as it is."""

    data: Any


def looks_unwritable(encoded: str) -> bool:
    """Whether an ASCII JSON batch may hold a NUL or a lone surrogate (a false alarm costs only time)."""
    if "\\u0000" in encoded:
        return True
    # A substring test first: plain and most non-ASCII text (\u00e9...) never reach the pattern.
    return "\\ud" in encoded and any(m.group(1) for m in _SURROGATES.finditer(encoded))


def clean_text(text: str) -> str:
    """``text`` without NUL characters or lone surrogates (each spelled out with a backslash)."""
    if "\x00" in text:
        text = text.replace("\x00", "\\x00")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def fit_id(job_id: str) -> str:
    """The id the row is stored under: ``job_id`` cleaned, and shortened past 255 characters."""
    job_id = clean_text(job_id)
    if len(job_id) <= MAX_CHARS:
        return job_id
    digest = hashlib.sha256(job_id.encode()).hexdigest()[:32]
    return f"{job_id[:200]}...{digest}"


def clean_data(value: Any) -> Any:
    """JSON data (from :func:`~arq_django.serializers.to_json_data`) with every text in it cleaned."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(k): clean_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean_data(item) for item in value]
    return value


def clean_row(row: RowUpdate, json_data: Any) -> tuple[RowUpdate, list[str]]:
    """``row`` with every value made writable, and the names of the fields that changed.

    ``json_data`` turns a JSON field's Python value into JSON data (the writer's own encoding)."""
    changes: dict[str, Any] = {}
    job_id = fit_id(row.job_id)
    if job_id != row.job_id:
        changes["job_id"] = job_id
    for name in TEXT_FIELDS:
        value = getattr(row, name)
        cleaned = clean_text(value)[:MAX_CHARS] if name in _SHORT else clean_text(value)
        if cleaned != value:
            changes[name] = cleaned
    for name in _JSON:
        value = getattr(row, name)
        if value is not None:
            data = json_data(value)
            cleaned = clean_data(data)
            if cleaned != data:
                changes[name] = Cleaned(cleaned)
    for name in ("tries", "max_tries"):
        value = getattr(row, name)
        if value is not None and not 0 <= value <= MAX_INT:
            changes[name] = min(max(value, 0), MAX_INT)
    if row.progress is not None and not 0 <= row.progress <= 1:  # NaN too
        changes["progress"] = None
    return (row._replace(**changes), sorted(changes)) if changes else (row, [])


def set_aside(row: RowUpdate, json_data: Any, refusal: str, *, bare: bool = False) -> RowUpdate:
    """The row to write in place of one the database refused: cleaned, with a note in ``error``. When
    that was refused too (``bare``), only what cannot be refused: the id, state and names (the job's
    arguments, result and times are in Redis)."""
    cleaned, fields = clean_row(row, json_data)
    if bare:
        cleaned = RowUpdate(
            cleaned.job_id, cleaned.status, cleaned.tries, cleaned.function, cleaned.queue_name
        )
        fields = ["all values but its id, state and function"]
    elif not fields:
        fields = ["nothing"]
    note = clean_text(
        f"[result mirror: the database refused this row ({refusal}); written with {', '.join(fields)} "
        "replaced; the job's own values are in Redis]"
    )
    return cleaned._replace(error=f"{cleaned.error}\n{note}" if cleaned.error else note)
