"""Queue figures read straight from arq's keys: waiting, deferred and running jobs and the oldest wait."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import redis

from arq_django.client.wire import timestamp_ms
from arq_django.jobs import routing
from arq_django.keys import in_progress_key_prefix


@dataclass(frozen=True)
class QueueDepth:
    """One queue at one moment."""

    queue: str
    queued: int
    """Jobs due to run that no worker has started yet."""
    deferred: int
    """Jobs scheduled for later (their run-at time is in the future)."""
    running: int
    """Jobs a worker is running now."""
    oldest_age: float | None
    """Seconds the longest-waiting queued job has been due, ``None`` when nothing waits. Measured from
    its queue score (arq's run-at time, shifted by up to ``100 * PRIORITY_STEP`` by its priority)."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "queued": self.queued,
            "deferred": self.deferred,
            "running": self.running,
            "oldest_age": None if self.oldest_age is None else round(self.oldest_age, 3),
        }


def member_id(raw: bytes) -> str:
    """A job id read from Redis as text; bytes that are not UTF-8 (no enqueue path writes them, but
    anything can sit in Redis) come out backslash-escaped instead of failing the whole listing."""
    return raw.decode(errors="backslashreplace")


def running_ids(client: redis.Redis) -> set[str]:
    """Ids of jobs some worker holds (arq's ``arq:in-progress:<id>`` keys, found with SCAN)."""
    prefix = len(in_progress_key_prefix)
    return {
        member_id(cast(bytes, k)[prefix:])
        for k in client.scan_iter(match=in_progress_key_prefix + "*", count=1000)
    }


def check_queue_key(client: redis.Redis, queue: str) -> None:
    """Raise ``ValueError`` when ``queue`` names a Redis key that is not a sorted set (not an arq queue)."""
    kind = cast(bytes, client.type(queue)).decode()
    if kind not in ("zset", "none"):
        raise ValueError(f"{queue!r} is a Redis {kind}, not an arq queue (a sorted set)")


def known_queues(*extra: str) -> list[str]:
    """The known queues (:func:`arq_django.jobs.routing.known_queues`), then any other queue named in
    ``extra`` (e.g. served by a live worker)."""
    queues = list(routing.known_queues())
    queues += [q for q in dict.fromkeys(extra) if q not in queues]
    return queues


def queue_depths(client: redis.Redis, queues: list[str]) -> list[QueueDepth]:
    """Figures for each queue in a SCAN and two pipelined round trips.

    arq keeps a running job in its queue's sorted set until it ends, so running jobs are told apart
    by their in-progress keys.
    """
    running = sorted(running_ids(client))
    now = timestamp_ms()
    with client.pipeline(transaction=False) as pipe:
        for q in queues:
            pipe.zcount(q, "-inf", now)
            pipe.zcount(q, f"({now}", "+inf")
            pipe.zrangebyscore(q, "-inf", now, start=0, num=len(running) + 1, withscores=True)
        counts = pipe.execute()
        for q in queues:
            for job_id in running:
                pipe.zscore(q, job_id)
        scores = pipe.execute() if running and queues else []
    depths = []
    held = set(running)
    for i, q in enumerate(queues):
        ready, deferred, head = counts[3 * i : 3 * i + 3]
        own = scores[i * len(running) : (i + 1) * len(running)]
        running_here = sum(1 for s in own if s is not None)
        running_ready = sum(1 for s in own if s is not None and s <= now)
        oldest = next((score for job_id, score in head if member_id(job_id) not in held), None)
        depths.append(
            QueueDepth(
                queue=q,
                queued=max(ready - running_ready, 0),
                deferred=deferred - (running_here - running_ready),
                running=running_here,
                oldest_age=None if oldest is None else max(now - oldest, 0) / 1000,
            )
        )
    return depths
