"""A producer in a system's venv: ``python -m bench.peers.producer MODULE ROLE ...``.

MODULE is an adapter (``bench.peers.huey_peer``, ...) whose ``Producer`` (or ``--client``) class enqueues
job ``i`` with the system's own client; its methods are coroutines for the asyncio systems, run in one
event loop. Importing MODULE sets the system up (a Django project: ``django.setup()``) before any clock
starts. ROLE:

- ``enqueue``: one untimed job (index 0), then jobs 1 .. N-1 timed: N jobs stay queued for the drain;
- ``warm``: after one untimed job, SAMPLES jobs one at a time, each after a random pause of up to GAP
  seconds (0.05; a polling worker's poll interval, so its samples land anywhere in its cycle), each
  timed from just before its enqueue to its recorded first start;
- ``cold``: one job, ``INDEX``: prints the time just before the producer is built and its first job
  enqueued (the runner reads the job's start), so a fresh process's first enqueue is what is timed.

Every role prints one JSON object on its last line.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import inspect
import json
import os
import random
import sys
import time
from collections.abc import Sequence
from typing import Any

import redis

from bench.peers.job import STARTS_KEY

WARM_BASE = 1_000_000
"""Indexes of the warm samples (the drain uses 0 .. N-1, cold samples ``COLD_BASE`` up)."""
COLD_BASE = 2_000_000
START_TIMEOUT_S = 30.0


def wait_start(client: redis.Redis, i: int, timeout: float = START_TIMEOUT_S) -> float:
    """Job ``i``'s recorded first start (epoch seconds), polled every 0.5 ms."""
    deadline = time.monotonic() + timeout
    while True:
        found = client.hget(STARTS_KEY, str(i))
        if found is not None:
            return float(found)  # type: ignore[arg-type]
        if time.monotonic() > deadline:
            raise TimeoutError(f"job {i} did not start within {timeout:.0f} s")
        time.sleep(0.0005)


async def _call(result: Any) -> Any:
    return await result if inspect.isawaitable(result) else result


async def run(producer_class: type, role: str, args: argparse.Namespace) -> dict[str, Any]:
    client = redis.Redis.from_url(os.environ["BENCH_REDIS_URL"])
    if role == "cold":
        t0 = time.time()
        producer = producer_class()
        await _call(getattr(producer, "start", lambda: None)())
        await _call(producer.enqueue(COLD_BASE + args.index))
        await _call(producer.close())
        return {"t0": t0, "index": COLD_BASE + args.index}
    producer = producer_class()
    await _call(getattr(producer, "start", lambda: None)())
    try:
        if role == "enqueue":
            await _call(producer.enqueue(0))
            started = time.perf_counter()
            for i in range(1, args.jobs):
                await _call(producer.enqueue(i))
            return {"jobs": args.jobs - 1, "seconds": time.perf_counter() - started}
        await _call(producer.enqueue(WARM_BASE - 1))
        wait_start(client, WARM_BASE - 1)
        rng = random.Random(18)
        latencies = []
        for k in range(args.samples):
            time.sleep(rng.uniform(0, args.gap))
            t0 = time.time()
            await _call(producer.enqueue(WARM_BASE + k))
            latencies.append((wait_start(client, WARM_BASE + k) - t0) * 1000)
        return {"latencies_ms": latencies}
    finally:
        await _call(producer.close())
        client.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.peers.producer")
    parser.add_argument("module")
    parser.add_argument("role", choices=("enqueue", "warm", "cold"))
    parser.add_argument("--client", default="Producer", help="the adapter's producer class")
    parser.add_argument("--jobs", type=int, default=3000)
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--index", type=int, default=0)
    parser.add_argument("--gap", type=float, default=0.05, help="warm: longest random pause (s)")
    args = parser.parse_args(argv)
    producer_class = getattr(importlib.import_module(args.module), args.client)
    if inspect.iscoroutinefunction(producer_class.enqueue):
        report = asyncio.run(run(producer_class, args.role, args))
    else:  # a sync client: no event loop around its calls (the coroutine only sequences them)
        coroutine = run(producer_class, args.role, args)
        try:
            coroutine.send(None)
        except StopIteration as done:
            report = done.value
        else:
            raise RuntimeError("a sync producer awaited something")
    print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
