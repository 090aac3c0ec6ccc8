"""One job's state, and listings of jobs by state, for the CLI and the JSON API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import redis

from arq_django.client.wire import decode_job, ms_to_datetime, timestamp_ms
from arq_django.connection import clients_for
from arq_django.keys import in_progress_key_prefix, job_key_prefix, result_key_prefix
from arq_django.ops import history
from arq_django.ops.queues import known_queues, member_id, running_ids
from arq_django.serializers import get_serializer

STATUSES = ("queued", "deferred", "running", "complete", "failed", "aborted")
PENDING = ("queued", "deferred", "running")
MAX_PENDING_READ = 1000
"""At most this many waiting jobs are read per queue by one listing."""


@dataclass(frozen=True)
class JobInfo:
    """A job in any state: waiting, running or finished."""

    job_id: str
    status: str
    """One of :data:`STATUSES`."""
    queue: str
    function: str | None
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] | None = None
    job_try: int | None = None
    enqueue_time: datetime | None = None
    run_at: datetime | None = None
    """When a waiting job is due."""
    start_time: datetime | None = None
    finish_time: datetime | None = None
    result: Any = None
    error: str | None = None

    @classmethod
    def finished(cls, r: history.ResultRecord) -> JobInfo:
        return cls(
            job_id=r.job_id,
            status=r.status,
            queue=r.queue,
            function=r.function,
            args=r.args,
            kwargs=r.kwargs,
            job_try=r.job_try,
            enqueue_time=r.enqueue_time,
            start_time=r.start_time,
            finish_time=r.finish_time,
            result=r.result if r.success else None,
            error=r.error,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "status": self.status,
            "queue": self.queue,
            "function": self.function,
            "args": list(self.args),
            "kwargs": self.kwargs or {},
            "job_try": self.job_try,
            "enqueue_time": self.enqueue_time,
            "run_at": self.run_at,
            "start_time": self.start_time,
            "finish_time": self.finish_time,
            "result": self.result,
            "error": self.error,
        }


def _pending(job_id: str, queue: str, score: float, raw: bytes | None, running: bool) -> JobInfo:
    status = "running" if running else ("deferred" if score > timestamp_ms() else "queued")
    run_at = ms_to_datetime(int(score))
    base = JobInfo(job_id=job_id, status=status, queue=queue, function=None, run_at=run_at)
    if not raw:
        return base
    try:
        d = decode_job(raw, get_serializer().loads)
    except Exception:
        return base
    return JobInfo(
        job_id=job_id,
        status=status,
        queue=queue,
        function=d.function,
        args=tuple(d.args),
        kwargs=dict(d.kwargs),
        job_try=d.job_try,
        enqueue_time=d.enqueue_time,
        run_at=run_at,
    )


def get_job(job_id: str, queues: list[str] | None = None) -> JobInfo | None:
    """The job ``job_id`` wherever it is (on any server); ``None`` when Redis knows nothing of it."""
    for client, held in clients_for(queues or known_queues()):
        found = _get_job(client, job_id, held)
        if found is not None:
            return found
    return None


def _get_job(client: redis.Redis, job_id: str, queues: list[str]) -> JobInfo | None:
    with client.pipeline(transaction=False) as pipe:
        pipe.get(result_key_prefix + job_id)
        pipe.exists(in_progress_key_prefix + job_id)
        pipe.get(job_key_prefix + job_id)
        for q in queues:
            pipe.zscore(q, job_id)
        result_raw, in_progress, job_raw, *scores = pipe.execute()
    if result_raw:
        record = history.get_result(job_id, queues[0] if queues else None)
        if record is not None:
            return JobInfo.finished(record)
    for q, score in zip(queues, scores, strict=True):
        if score is not None:
            return _pending(job_id, q, score, job_raw, bool(in_progress))
    return None


def list_jobs(
    *,
    status: str | None = None,
    function: str | None = None,
    queue: str | None = None,
    since: datetime | None = None,
    limit: int = 50,
) -> list[JobInfo]:
    """Jobs filtered by status, function and queue: running, queued and deferred ones first (oldest
    first), then finished ones (newest first, finished after ``since``)."""
    if status is not None and status not in STATUSES:
        raise ValueError(f"unknown status {status!r}; use one of {', '.join(STATUSES)}")
    found: list[JobInfo] = []
    if status is None or status in PENDING:
        found = [
            j
            for j in _pending_jobs([queue] if queue else known_queues())
            if (status is None or j.status == status) and (function is None or j.function == function)
        ][:limit]
    if len(found) < limit and (status is None or status not in PENDING):
        records = history.find_results(
            status=status, function=function, queue=queue, since=since, limit=limit - len(found)
        )
        found += [JobInfo.finished(r) for r in records]
    return found


def _pending_jobs(queues: list[str]) -> list[JobInfo]:
    jobs = [j for client, on in clients_for(queues) if on for j in _pending_on(client, on)]
    order = {"running": 0, "queued": 1, "deferred": 2}
    return sorted(jobs, key=lambda j: (order[j.status], j.run_at or datetime.min.replace(tzinfo=UTC)))


def _pending_on(client: redis.Redis, queues: list[str]) -> list[JobInfo]:
    held = running_ids(client)
    with client.pipeline(transaction=False) as pipe:
        for q in queues:
            pipe.zrange(q, 0, MAX_PENDING_READ - 1, withscores=True)
        members: list[list[tuple[bytes, float]]] = pipe.execute()
    entries = [(q, member_id(m), s) for q, ms in zip(queues, members, strict=True) for m, s in ms]
    raws = (
        cast(list[bytes | None], client.mget([job_key_prefix + j for _, j, _ in entries])) if entries else []
    )
    return [_pending(j, q, s, raw, j in held) for (q, j, s), raw in zip(entries, raws, strict=True)]
