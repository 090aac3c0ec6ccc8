"""The benchmark's job handlers as plain arq coroutines: no Django, so the raw arq worker imports none.

``bench.jobs`` registers the same functions with arq_django.
"""

from __future__ import annotations

import time
from typing import Any

COUNTER_KEY = "bench:count"
"""Incremented once per run, so a drain can prove every job ran exactly once."""
STARTS_KEY = "bench:starts"
"""``bench_stamp`` pushes its start time (epoch seconds) here; the latency phase pops it."""


async def bench_noop(ctx: dict[str, Any], i: int) -> None:
    """Do one Redis round trip (INCR) so a drained job does real work; ``i`` keeps payloads distinct."""
    await ctx["redis"].incr(COUNTER_KEY)


async def bench_stamp(ctx: dict[str, Any], i: int) -> None:
    """Record when this job started, first thing, for the enqueue → start latency."""
    started = time.time()
    await ctx["redis"].rpush(STARTS_KEY, f"{i} {started:.6f}")
