"""The benchmark's jobs, registered with arq_django; ``bench.handlers`` holds the functions themselves."""

from __future__ import annotations

from arq_django import job
from bench.handlers import COUNTER_KEY, STARTS_KEY, bench_noop, bench_stamp

NOOP = "bench_noop"
STAMP = "bench_stamp"

job(NOOP)(bench_noop)
job(STAMP)(bench_stamp)

__all__ = ["COUNTER_KEY", "NOOP", "STAMP", "STARTS_KEY", "bench_noop", "bench_stamp"]
