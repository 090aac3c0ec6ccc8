"""Who is working: the live workers, read from their heartbeats (:mod:`arq_django.worker.heartbeat` writes
them) with SCAN, never KEYS."""

from __future__ import annotations

import json
import logging
from typing import cast

import redis

from arq_django import keys
from arq_django.worker.heartbeat import WorkerBeat

logger = logging.getLogger("arq_django.ops.workers")
PREFIX = keys.WORKER_PREFIX


def read_workers(client: redis.Redis) -> list[WorkerBeat]:
    """Every live worker's last heartbeat, found with SCAN (never KEYS)."""
    keys = [cast(bytes, k) for k in client.scan_iter(match=PREFIX + "*", count=1000)]
    beats: list[WorkerBeat] = []
    for i in range(0, len(keys), 500):
        chunk = keys[i : i + 500]
        for key, raw in zip(chunk, cast(list[bytes | None], client.mget(chunk)), strict=True):
            beat = _parse(key.decode(), raw)
            if beat is not None:
                beats.append(beat)
    return sorted(beats, key=lambda b: (b.queue, b.host, b.pid, b.started_at))


def _parse(key: str, raw: bytes | None) -> WorkerBeat | None:
    if raw is None:  # expired between SCAN and MGET
        return None
    try:
        d = json.loads(raw)
        return WorkerBeat(
            key=key,
            queue=str(d["queue"]),
            host=str(d["host"]),
            pid=int(d["pid"]),
            started_at=float(d["started_at"]),
            beat_at=float(d["beat_at"]),
            jobs_complete=int(d["jobs_complete"]),
            jobs_failed=int(d["jobs_failed"]),
            jobs_retried=int(d["jobs_retried"]),
            jobs_running=int(d["jobs_running"]),
            max_jobs=int(d["max_jobs"]),
            last_job_at=None if d.get("last_job_at") is None else float(d["last_job_at"]),
        )
    except (ValueError, KeyError, TypeError):
        logger.warning("ignoring a malformed worker heartbeat at %s", key)
        return None


def workers_per_queue(beats: list[WorkerBeat]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for b in beats:
        counts[b.queue] = counts.get(b.queue, 0) + 1
    return counts
