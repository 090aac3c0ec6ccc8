"""Finished jobs: what happened recently, and which results are still there to read.

This module is the one place the operations tools ask about the past. It reads Redis, the source of
truth the moment a job ends: arq's ``arq:result:<id>`` records (listed newest first through each
queue's history index, :func:`arq_django.worker.finish.history_key`, which the worker writes in the same call
as the result, so a listing reads about as many records as it returns instead of scanning the
keyspace; only results still within their ``keep_result`` are seen) and the per-minute outcome counters
every worker keeps (:mod:`arq_django.worker.stats`), which add up across workers exactly as the result
mirror's rows would.
Longer history lives in the mirror (``JobResult``, the admin); switching these functions to it would
leave their callers unchanged.
"""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import redis

from arq_django.client.wire import FinishedJob, decode_result
from arq_django.connection import clients_for, sync_client
from arq_django.exceptions import JobFailed
from arq_django.jobs.routing import known_queues
from arq_django.keys import history_key, result_key_prefix
from arq_django.ops.outcomes import read_recent_outcomes
from arq_django.serializers import get_serializer

MAX_SCANNED = 20_000
"""At most this many history entries are read by one :func:`find_results` call."""
_PAGE = 200
SKEW_MS = 60_000
"""Index scores are Redis's clock, ``since`` compares with the worker's: this much slack keeps a
record whose worker clock runs behind; the record's own finish time is then compared exactly."""


@dataclass(frozen=True)
class ResultRecord:
    """One finished job as its result record describes it."""

    job_id: str
    function: str
    queue: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    job_try: int
    enqueue_time: datetime
    start_time: datetime
    finish_time: datetime
    success: bool
    result: Any
    """The return value, or the failure (:class:`~arq_django.JobFailed`, ``CancelledError``)."""

    @property
    def status(self) -> str:
        """``complete``, ``failed``, or ``aborted`` (cancelled by :func:`arq_django.client.abort`)."""
        if self.success:
            return "complete"
        return "aborted" if isinstance(self.result, asyncio.CancelledError) else "failed"

    @property
    def error(self) -> str | None:
        """``type: message`` of a failure; ``aborted`` for a job cancelled by an abort."""
        if self.success:
            return None
        if isinstance(self.result, asyncio.CancelledError):
            return "aborted"
        if isinstance(self.result, JobFailed):
            return str(self.result)
        if isinstance(self.result, BaseException):
            return f"{type(self.result).__name__}: {self.result}"
        return str(self.result)

    @classmethod
    def from_arq(cls, info: FinishedJob) -> ResultRecord:
        return cls(
            job_id=str(info.job_id),
            function=info.function,
            queue=info.queue_name,
            args=tuple(info.args),
            kwargs=dict(info.kwargs),
            job_try=info.job_try or 1,
            enqueue_time=info.enqueue_time,
            start_time=info.start_time,
            finish_time=info.finish_time,
            success=info.success,
            result=info.result,
        )


@dataclass(frozen=True)
class RecentCounts:
    """Job tries that ended on one queue within the window."""

    queue: str
    complete: int
    failed: int
    aborted: int
    retrying: int
    """Tries that will run again (``Retry`` raised, or cancelled by a worker shutdown)."""
    window_s: float

    @property
    def per_minute(self) -> float:
        """Jobs finished per minute (complete, failed or aborted) over the window."""
        return round((self.complete + self.failed + self.aborted) / (self.window_s / 60), 2)

    def as_dict(self) -> dict[str, Any]:
        return {
            "complete": self.complete,
            "failed": self.failed,
            "aborted": self.aborted,
            "retrying": self.retrying,
            "per_minute": self.per_minute,
            "window_s": self.window_s,
        }


def recent_counts(queues: list[str], window_s: float = 3600) -> dict[str, RecentCounts]:
    """Per queue, the job tries that ended in the last ``window_s`` seconds, by outcome."""
    raw = {
        q: c
        for client, held in clients_for(queues)
        if held
        for q, c in read_recent_outcomes(client, held, window_s).items()
    }
    return {
        q: RecentCounts(
            q, c.get("complete", 0), c.get("failed", 0), c.get("aborted", 0), c.get("retrying", 0), window_s
        )
        for q, c in raw.items()
    }


def _decode(raw: bytes | None) -> ResultRecord | None:
    if not raw:
        return None
    try:
        return ResultRecord.from_arq(decode_result(raw, get_serializer().loads))
    except Exception:  # a record another serializer wrote, or garbage: not ours to show
        return None


def get_result(job_id: str, queue: str | None = None) -> ResultRecord | None:
    """The finished job ``job_id``, or ``None`` when it has no result (yet, or any more); looked for on
    ``queue``'s server, else on every server."""
    clients = [sync_client(queue=queue)] if queue else [c for c, _ in clients_for(list(known_queues()))]
    for client in clients:
        record = _decode(cast(bytes | None, client.get(result_key_prefix + job_id)))
        if record is not None:
            return record
    return None


def _newest(
    client: redis.Redis, queues: list[str], since_ms: float | str
) -> Iterator[tuple[float, str, bytes]]:
    """``(-finish ms, index key, job id)`` across the queues' history indexes, newest first, a page
    at a time."""

    def one(key: str) -> Iterator[tuple[float, str, bytes]]:
        offset = 0
        while True:
            page = cast(
                list[tuple[bytes, float]],
                client.zrevrangebyscore(key, "+inf", since_ms, start=offset, num=_PAGE, withscores=True),
            )
            yield from ((-score, key, member) for member, score in page)
            if len(page) < _PAGE:
                return
            offset += _PAGE

    return heapq.merge(*(one(history_key(q)) for q in dict.fromkeys(queues)))


def find_results(
    *,
    status: str | None = None,
    function: str | None = None,
    queue: str | None = None,
    since: datetime | None = None,
    limit: int | None = 20,
    client: redis.Redis | None = None,
) -> list[ResultRecord]:
    """Finished jobs, newest first, filtered by status (``complete``, ``failed``, ``aborted``),
    function, queue and finish time; ``limit=None`` returns every match among the entries read
    (at most :data:`MAX_SCANNED`). Without ``client``, every server holding the queues is read."""
    if client is None:
        queues = [queue] if queue else list(known_queues())
        groups = [(c, held) for c, held in clients_for(queues) if held]
        if len(groups) > 1:
            merged = [
                r
                for c, held in groups
                for q in held
                for r in find_results(
                    status=status, function=function, queue=q, since=since, limit=limit, client=c
                )
            ]
            merged.sort(key=lambda r: r.finish_time, reverse=True)
            return merged if limit is None else merged[:limit]
        client = groups[0][0] if groups else sync_client()
    since_ms: float | str = "-inf" if since is None else since.timestamp() * 1000 - SKEW_MS
    entries = _newest(client, [queue] if queue else list(known_queues()), since_ms)
    found: list[ResultRecord] = []
    seen: set[bytes] = set()
    read, chunk = 0, min(limit or 500, 500)
    while read < MAX_SCANNED and (limit is None or len(found) < limit):
        batch = [(key, job_id) for _, key, job_id in _take(entries, min(chunk, MAX_SCANNED - read))]
        if not batch:
            break
        read += len(batch)
        chunk = min(chunk * 2, 1000)  # filters that match few records read ever larger batches
        raws = cast(list[bytes | None], client.mget([result_key_prefix.encode() + j for _, j in batch]))
        gone: dict[str, list[bytes]] = {}
        for (key, job_id), raw in zip(batch, raws, strict=True):
            if raw is None:  # expired or deleted: drop it from the index
                gone.setdefault(key, []).append(job_id)
                continue
            record = _decode(raw)
            if record is None or job_id in seen:
                continue
            seen.add(job_id)
            if status is not None and record.status != status:
                continue
            if function is not None and record.function != function:
                continue
            if since is not None and record.finish_time < since:
                continue
            found.append(record)
        if gone:
            with client.pipeline(transaction=False) as pipe:
                for key, ids in gone.items():
                    pipe.zrem(key, *ids)
                pipe.execute()
    found.sort(key=lambda r: r.finish_time, reverse=True)
    return found if limit is None else found[:limit]


def _take(entries: Iterator[tuple[float, str, bytes]], n: int) -> list[tuple[float, str, bytes]]:
    return [e for _, e in zip(range(n), entries, strict=False)]
