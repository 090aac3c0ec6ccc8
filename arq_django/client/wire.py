"""arq's record format, written and read without the ``arq`` package (the producer side runs without it).

A job record (``arq:job:<id>``) is the serializer's encoding of ``{"t": job_try, "f": function, "a": args,
"k": kwargs, "et": enqueue_ms}``; a result record (``arq:result:<id>``) adds ``"s"`` (success), ``"r"``
(result or exception), ``"st"`` / ``"ft"`` (start / finish ms), ``"q"`` (queue) and ``"id"``. Keys keep
arq's order, so the bytes equal those of ``arq.jobs.serialize_job`` / ``serialize_result`` for the same
serializer (tests/client/test_wire.py compares them when arq is installed). Times are epoch milliseconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from arq_django.exceptions import UnreadableRecord

Dumps = Callable[[Any], bytes]
Loads = Callable[[bytes], Any]


def timestamp_ms() -> int:
    """Now, in epoch milliseconds (a queue's scores and every record's times)."""
    return round(time.time() * 1000)


def to_ms(duration: float | timedelta) -> int:
    """Seconds (or a ``timedelta``) as whole milliseconds."""
    seconds = duration.total_seconds() if isinstance(duration, timedelta) else duration
    return round(seconds * 1000)


def ms_to_datetime(unix_ms: int) -> datetime:
    """An aware UTC datetime from epoch milliseconds (arq converts to ``ARQ_TIMEZONE`` when pytz is
    installed; the instant is the same, so comparisons agree)."""
    return datetime.fromtimestamp(unix_ms / 1000, tz=UTC)


@dataclass(frozen=True, kw_only=True)
class JobRecord:
    """One decoded job record: what ``enqueue()`` wrote (arq calls it ``JobDef``)."""

    function: str
    args: Sequence[Any]
    """As the serializer gives them back (a list from JSON, as arq leaves them)."""
    kwargs: dict[str, Any]
    job_try: int | None
    """The try the record was written for (``_job_try``), ``None`` when the enqueue did not set one."""
    enqueue_time: datetime
    score: int | None = None
    """Run-at time in epoch ms while the job is in its queue (filled in by the reader)."""
    job_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class FinishedJob(JobRecord):
    """One decoded result record: how the job's last try ended (arq calls it ``JobResult``)."""

    success: bool
    result: Any
    """The return value, or the exception the job raised (``success`` false)."""
    start_time: datetime
    finish_time: datetime
    queue_name: str


def encode_job(
    function: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    job_try: int | None,
    enqueue_ms: int,
    dumps: Dumps,
) -> bytes:
    """A job record's bytes; the serializer's error propagates (the caller names the bad argument)."""
    return dumps({"t": job_try, "f": function, "a": args, "k": kwargs, "et": enqueue_ms})


def encode_result(
    job: JobRecord,
    *,
    success: bool,
    result: Any,
    start_ms: int,
    finish_ms: int,
    queue_name: str,
    dumps: Dumps,
) -> bytes:
    """A result record's bytes for ``job`` (whose ``job_id`` is set)."""
    return dumps(
        {
            "t": job.job_try,
            "f": job.function,
            "a": job.args,
            "k": job.kwargs,
            "et": round(job.enqueue_time.timestamp() * 1000),
            "s": success,
            "r": result,
            "st": start_ms,
            "ft": finish_ms,
            "q": queue_name,
            "id": job.job_id,
        }
    )


def _fields(raw: bytes, loads: Loads, what: str) -> dict[str, Any]:
    try:
        data = loads(raw)
    except Exception as e:
        raise UnreadableRecord(f"unable to read {what}: {type(e).__name__}: {e}") from e
    if not isinstance(data, dict) or not {"f", "a", "k", "et"} <= data.keys():
        raise UnreadableRecord(f"unable to read {what}: not an arq record")
    return data


def _job_fields(d: dict[str, Any]) -> dict[str, Any]:
    """The fields a job record and a result record share, from the decoded dict."""
    return {
        "function": d["f"],
        "args": d["a"],
        "kwargs": d["k"],
        "job_try": d.get("t"),
        "enqueue_time": ms_to_datetime(d["et"]),
    }


def decode_job(raw: bytes, loads: Loads) -> JobRecord:
    """A job record from its bytes; :class:`UnreadableRecord` when it cannot be read."""
    return JobRecord(**_job_fields(_fields(raw, loads, "job record")))


def decode_result(raw: bytes, loads: Loads) -> FinishedJob:
    """A result record from its bytes; :class:`UnreadableRecord` when it cannot be read."""
    d = _fields(raw, loads, "job result")
    try:
        return FinishedJob(
            **_job_fields(d),
            success=d["s"],
            result=d["r"],
            start_time=ms_to_datetime(d["st"]),
            finish_time=ms_to_datetime(d["ft"]),
            queue_name=d.get("q", "<unknown>"),
            job_id=d.get("id", "<unknown>"),
        )
    except KeyError as e:
        raise UnreadableRecord(f"unable to read job result: no {e} field") from e
