"""The capacity model's inputs (deploy/README.md, "Capacity"): Redis commands per job and jobs per
Redis-CPU-second, measured on a private redis-server.

``python -m bench.capacity [--jobs N]`` enqueues N no-op jobs (sync ``enqueue()``), then drains them with
one arq_django worker process (burst), resetting the server's statistics between the two phases. Per
phase it reads ``INFO commandstats`` (commands run inside Lua scripts count too) and the server's CPU
time (``used_cpu_sys + used_cpu_user``), minus an idle baseline of the same length.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from typing import cast

import redis

from arq_django import embedded, enqueue
from bench.jobs import NOOP
from bench.run import setup_django
from bench.workers import WorkerProcess


def _snapshot(client: redis.Redis) -> tuple[dict[str, int], float]:
    stats = cast(dict[str, dict[str, int]], client.info("commandstats"))
    cpu = cast(dict[str, float], client.info("cpu"))
    calls = {k.removeprefix("cmdstat_"): v["calls"] for k, v in stats.items() if k != "cmdstat_info"}
    return calls, cpu["used_cpu_sys"] + cpu["used_cpu_user"]


def _phase(client: redis.Redis, run: Callable[[], None]) -> tuple[dict[str, int], float, float]:
    """(commands by name, server CPU seconds, wall seconds) spent while ``run`` ran."""
    client.config_resetstat()
    before_calls, before_cpu = _snapshot(client)
    started = time.perf_counter()
    run()
    wall = time.perf_counter() - started
    calls, cpu = _snapshot(client)
    return {k: n - before_calls.get(k, 0) for k, n in calls.items()}, cpu - before_cpu, wall


def _print(label: str, jobs: int, calls: dict[str, int], cpu: float, wall: float, idle_cpu_s: float) -> None:
    busy = max(cpu - idle_cpu_s * wall, 1e-9)
    total = sum(calls.values())
    top = ", ".join(f"{k} {n / jobs:.2f}" for k, n in sorted(calls.items(), key=lambda kv: -kv[1]) if n)
    print(f"{label}: {total / jobs:.2f} commands/job ({top})")
    print(
        f"{label}: {jobs / wall:.0f} jobs/s wall, Redis CPU {busy:.2f} s -> "
        f"{jobs / busy:.0f} jobs per Redis-CPU-s"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=2000)
    args = parser.parse_args(argv)
    server = embedded.start(port=embedded.free_port())
    try:
        setup_django(server.url)
        client = redis.Redis.from_url(server.url)
        _, idle_cpu, idle_wall = _phase(client, lambda: time.sleep(1.0))
        idle_cpu_s = idle_cpu / idle_wall

        def produce() -> None:
            for i in range(args.jobs):
                enqueue(NOOP, i)

        enq_calls, enq_cpu, enq_wall = _phase(client, produce)
        _print("enqueue", args.jobs, enq_calls, enq_cpu, enq_wall, idle_cpu_s)

        def drain() -> None:
            with WorkerProcess("arq_django", "drain", server.url) as worker:
                worker.finish(timeout=300)

        run_calls, run_cpu, run_wall = _phase(client, drain)
        _print("claim+finish", args.jobs, run_calls, run_cpu, run_wall, idle_cpu_s)
        total_cpu = max(enq_cpu - idle_cpu_s * enq_wall, 0) + max(run_cpu - idle_cpu_s * run_wall, 0)
        print(
            f"per job, all phases: {(sum(enq_calls.values()) + sum(run_calls.values())) / args.jobs:.2f} "
            f"commands; {args.jobs / total_cpu:.0f} jobs per Redis-CPU-second "
            f"(idle {idle_cpu_s * 100:.1f} % CPU)"
        )
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
