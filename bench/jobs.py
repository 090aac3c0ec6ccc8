"""The benchmark's job, registered with arq_django and handed as-is to the raw arq worker."""

from __future__ import annotations

from typing import Any

from arq_django import job

COUNTER_KEY = "bench:count"
"""Incremented once per run, so a drain can prove every job ran exactly once."""


@job("bench_noop")
async def bench_noop(ctx: dict[str, Any], i: int) -> None:
    """Do one Redis round trip (INCR) so a drained job does real work; ``i`` keeps payloads distinct."""
    await ctx["redis"].incr(COUNTER_KEY)
