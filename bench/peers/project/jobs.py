"""The bench job, registered with arq_django (autodiscovered: this app's ``jobs`` module)."""

from __future__ import annotations

from typing import Any

from arq_django import job
from bench.peers.job import arecord


@job("bench_peer_job")
async def bench_peer_job(ctx: dict[str, Any], i: int) -> None:
    await arecord(ctx["redis"], i)
