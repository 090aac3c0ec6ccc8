"""Django Tasks backends side by side: enqueue rate, drain rate and enqueue → start latency of the same
``@task`` (``bench.peer_app.tasks.stamp``) on one backend per run (``BENCH_PEER``, see
``bench.peer_settings``), each in the venv that has that backend installed (``make bench-tasks``).

Every run of the task appends ``i start end`` to ``BENCH_STAMPS``, so backends that keep no results
are measured the same way as those that do.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

WORKERS = {
    "arq": [sys.executable, "-m", "arq", "arq_django.worker.WorkerSettings"],
    "tasks-db": [sys.executable, "-m", "django", "db_worker", "--no-startup-delay"],
    "vtasks": [sys.executable, "-m", "django", "runworker"],
}


def _peer() -> str:
    from bench.peer_settings import PEER

    return PEER


def _setup(stamps: Path, kind: str = "sync") -> Any:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.peer_settings")
    os.environ["BENCH_STAMPS"] = str(stamps)
    import django
    from django.core.management import call_command

    django.setup()
    from django.conf import settings

    db = settings.DATABASES["default"]["NAME"]
    if os.path.exists(db):
        os.remove(db)
    call_command("migrate", verbosity=0)
    _flush_redis()
    from bench.peer_app.tasks import astamp, stamp

    return astamp if kind == "async" else stamp


def _flush_redis() -> None:
    if "BENCH_REDIS_URL" in os.environ:
        import redis

        redis.Redis.from_url(os.environ["BENCH_REDIS_URL"]).flushdb()  # the bench's own database


def _worker() -> subprocess.Popen[bytes]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.peer_settings"}
    quiet = subprocess.DEVNULL
    return subprocess.Popen(WORKERS[_peer()], env=env, stdout=quiet, stderr=quiet)


def _lines(stamps: Path, count: int, timeout: float = 300.0) -> list[tuple[int, float, float]]:
    deadline = time.monotonic() + timeout
    while True:
        text = stamps.read_text() if stamps.exists() else ""
        rows = [line.split() for line in text.splitlines()]
        if len(rows) >= count:
            return [(int(i), float(s), float(e)) for i, s, e in rows]
        if time.monotonic() > deadline:
            raise SystemExit(f"{len(rows)} of {count} tasks ran within {timeout} s")
        time.sleep(0.002)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--latency-jobs", type=int, default=30)
    parser.add_argument(
        "--task", choices=["sync", "async"], default="sync", help="a def or an async def task"
    )
    args = parser.parse_args(argv)
    stamps = Path(__file__).resolve().parent.parent / ".run" / f"peer-stamps-{_peer()}.txt"
    stamps.unlink(missing_ok=True)
    stamp = _setup(stamps, args.task)
    stamp.enqueue(-1)  # connections opened outside the timed loop
    started = time.perf_counter()
    for i in range(args.jobs):
        stamp.enqueue(i)
    enqueue_s = time.perf_counter() - started
    worker = _worker()
    try:
        rows = _lines(stamps, args.jobs + 1)
        # from the first task's start to the last one's end: the worker's boot is not the drain
        drain_s = max(e for _, _, e in rows) - min(s for _, s, _ in rows)
        latencies = []
        for n in range(args.latency_jobs):
            enqueued = time.time()
            stamp.enqueue(10_000_000 + n)
            latencies.append(_lines(stamps, args.jobs + 2 + n)[-1][1] - enqueued)
    finally:
        worker.terminate()
        worker.wait(30)
        _flush_redis()  # what the worker left (a peer's heartbeat keys), so the next bench finds it empty
    print(
        f"{_peer()} ({args.task} task): enqueue {args.jobs / enqueue_s:,.0f}/s; "
        f"drain {(args.jobs + 1) / drain_s:,.0f}/s "
        f"(first start to last end, {args.jobs + 1} tasks); enqueue→start median "
        f"{statistics.median(latencies) * 1000:.1f} ms over {args.latency_jobs}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
