"""The dashboard's figures from the workers' Redis counters (:mod:`arq_django.worker.stats`, read
through :mod:`arq_django.ops.outcomes`), used when the result mirror is off. Minute counters are kept
two hours, so a 24 h chart shows only its last two. Each server's counters are read where they are
kept (``servers``: a client and the queues it holds, as :func:`arq_django.connection.clients_for`
gives them) and summed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import redis

from arq_django.dashboard.mirror import bucket_starts
from arq_django.dashboard.series import Bucket, Durations, Throughput
from arq_django.ops.outcomes import read_function_stats, read_minute_outcomes
from arq_django.worker.stats import MINUTE_TTL

Servers = Sequence[tuple[redis.Redis, list[str]]]


def throughput(servers: Servers, now: datetime, window_s: int, bucket_s: int) -> Throughput:
    """Tries that ended per bucket, summed from the minute counters of every server's queues."""
    starts = bucket_starts(now, window_s, bucket_s)
    first = int(starts[0].timestamp()) // 60
    minutes = min(int(now.timestamp()) // 60 - first + 1, MINUTE_TTL // 60)
    sums: dict[int, list[int]] = {int(s.timestamp()): [0, 0, 0] for s in starts}
    for client, queues in servers:
        for minute, counts in read_minute_outcomes(client, queues, minutes):
            slot = sums.get(minute * 60 // bucket_s * bucket_s)
            if slot is not None:
                slot[0] += counts.get("complete", 0)
                slot[1] += counts.get("failed", 0) + counts.get("aborted", 0)
                slot[2] += counts.get("retrying", 0)
    buckets = tuple(
        Bucket(datetime.fromtimestamp(epoch, UTC), c, f, r) for epoch, (c, f, r) in sorted(sums.items())
    )
    return Throughput(window_s, bucket_s, "counters", buckets)


def durations(servers: Servers, limit: int = 12) -> list[Durations]:
    """p50 / p95 per function since the counters began, from their duration histograms (bucket upper
    bounds, so an estimate; ``inf`` when the percentile lies past the last bound)."""
    merged: dict[str, list[int]] = {}
    bounds: list[float] = []
    every = [stats for client, queues in servers for stats in read_function_stats(client, queues)]
    for stats in every:
        bounds = [float(le) for le, _ in stats.buckets]
        counts = merged.setdefault(stats.function, [0] * len(stats.buckets))
        for i, (_, n) in enumerate(stats.buckets):
            counts[i] += n
    result = [_estimate(f, bounds, c) for f, c in merged.items() if c and c[-1]]
    return sorted(result, key=lambda d: (-d.count, d.function))[:limit]


def _estimate(function: str, bounds: list[float], cumulative: list[int]) -> Durations:
    total = cumulative[-1]

    def at(q: float) -> float:
        return next(b for b, n in zip(bounds, cumulative, strict=True) if n >= q * total)

    return Durations(function, total, at(0.5), at(0.95))
