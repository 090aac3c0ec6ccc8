"""How jobs ended: per-function totals and duration histograms, and the last hour's outcomes per queue,
read from the counters :mod:`arq_django.worker.stats` writes."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import redis

from arq_django.keys import minute_key, stats_key
from arq_django.worker.stats import BUCKETS


@dataclass(frozen=True)
class FunctionStats:
    """Totals of one function on one queue since the counters began."""

    queue: str
    function: str
    outcomes: dict[str, int] = field(hash=False)
    """Job tries per outcome (``complete``, ``failed``, ``retried``...)."""
    buckets: tuple[tuple[str, int], ...]
    """Cumulative histogram: ``(le, count)`` for every bound in :data:`BUCKETS` and ``+Inf``."""
    duration_sum: float


def _parse(queue: str, raw: dict[bytes, bytes]) -> list[FunctionStats]:
    outcomes: dict[str, dict[str, int]] = {}
    counts: dict[str, dict[str, int]] = {}
    sums: dict[str, float] = {}
    for k, v in raw.items():
        kind, _, rest = k.decode().partition(":")
        if kind == "outcome" or kind == "dur":
            label, _, function = rest.partition(":")
            target = outcomes if kind == "outcome" else counts
            target.setdefault(function, {})[label] = int(v)
        elif kind == "dsum":
            sums[rest] = float(v)
    result = []
    for function in sorted(set(outcomes) | set(counts)):
        per_le = counts.get(function, {})
        running, cumulative = 0, []
        for le in [*map(repr, BUCKETS), "+Inf"]:
            running += per_le.get(le, 0)
            cumulative.append((le, running))
        result.append(
            FunctionStats(
                queue, function, outcomes.get(function, {}), tuple(cumulative), sums.get(function, 0.0)
            )
        )
    return result


def read_function_stats(client: redis.Redis, queues: list[str]) -> list[FunctionStats]:
    """Every function's totals on ``queues`` (one round trip)."""
    with client.pipeline(transaction=False) as pipe:
        for queue in queues:
            pipe.hgetall(stats_key(queue))
        raws: list[dict[bytes, bytes]] = pipe.execute()
    return [s for queue, raw in zip(queues, raws, strict=True) for s in _parse(queue, raw)]


def read_recent_outcomes(
    client: redis.Redis, queues: list[str], window_s: float = 3600
) -> dict[str, dict[str, int]]:
    """Per queue, the job tries of the last ``window_s`` seconds by outcome (whole minutes, this one
    included)."""
    now_minute = int(time.time() // 60)
    minutes = range(now_minute - max(int(window_s // 60), 1) + 1, now_minute + 1)
    with client.pipeline(transaction=False) as pipe:
        for queue in queues:
            for m in minutes:
                pipe.hgetall(minute_key(queue, m))
        raws: list[dict[bytes, bytes]] = pipe.execute()
    result: dict[str, dict[str, int]] = {}
    for i, queue in enumerate(queues):
        totals: dict[str, int] = {}
        for raw in raws[i * len(minutes) : (i + 1) * len(minutes)]:
            for k, v in raw.items():
                totals[k.decode()] = totals.get(k.decode(), 0) + int(v)
        result[queue] = totals
    return result


def read_minute_outcomes(
    client: redis.Redis, queues: list[str], minutes: int
) -> list[tuple[int, dict[str, int]]]:
    """The last ``minutes`` minutes (this one included), oldest first: ``(epoch minute, tries by outcome)``
    summed over ``queues`` (one round trip). Minutes older than the counters' two hours read as empty."""
    now_minute = int(time.time() // 60)
    span = range(now_minute - max(minutes, 1) + 1, now_minute + 1)
    with client.pipeline(transaction=False) as pipe:
        for queue in queues:
            for m in span:
                pipe.hgetall(minute_key(queue, m))
        raws: list[dict[bytes, bytes]] = pipe.execute()
    result: list[tuple[int, dict[str, int]]] = []
    for i, m in enumerate(span):
        totals: dict[str, int] = {}
        for q in range(len(queues)):
            for k, v in raws[q * len(span) + i].items():
                totals[k.decode()] = totals.get(k.decode(), 0) + int(v)
        result.append((m, totals))
    return result
