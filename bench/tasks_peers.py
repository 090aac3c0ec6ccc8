"""Django Tasks backends side by side: enqueue rate, drain rate and enqueue → start latency of the same
``@task`` (``bench.peer_app.tasks.stamp``) on one backend per run (``BENCH_PEER``, see
``bench.peer_settings``), each in the venv that has that backend installed.

Run: ``BENCH_PEER=tasks-db .run/bench-tasks-db/bin/python -m bench.tasks_peers`` and
``BENCH_PEER=arq BENCH_REDIS_URL=redis://127.0.0.1:6379/<db> .venv/bin/python -m bench.tasks_peers``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

WORKERS = {
    "arq": [sys.executable, "-m", "arq", "arq_django.worker.WorkerSettings"],
    "tasks-db": [sys.executable, "-m", "django", "db_worker", "--no-startup-delay"],
}


def _peer() -> str:
    from bench.peer_settings import PEER

    return PEER


def _setup() -> Any:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.peer_settings")
    import django
    from django.core.management import call_command

    django.setup()
    from django.conf import settings

    db = settings.DATABASES["default"]["NAME"]
    if os.path.exists(db):
        os.remove(db)
    call_command("migrate", verbosity=0)
    if _peer() == "arq":
        import redis

        redis.Redis.from_url(os.environ["BENCH_REDIS_URL"]).flushdb()
    from bench.peer_app.tasks import stamp

    return stamp


def _worker() -> subprocess.Popen[bytes]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.peer_settings"}
    return subprocess.Popen(WORKERS[_peer()], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait(result: Any, timeout: float = 120.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result.refresh()
        if result.is_finished:
            return result
        if time.monotonic() > deadline:
            raise SystemExit(f"task {result.id} did not finish within {timeout} s")
        time.sleep(0.005)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--latency-jobs", type=int, default=30)
    args = parser.parse_args(argv)
    stamp = _setup()

    stamp.enqueue(-1)  # connections opened outside the timed loop
    started = time.perf_counter()
    results = [stamp.enqueue(i) for i in range(args.jobs)]
    enqueue_s = time.perf_counter() - started
    worker = _worker()
    try:
        _wait(results[-1])
        for result in results:
            _wait(result)
        # from the first task's start to the last one's end: the worker's boot is not the drain
        starts = [r.return_value for r in results]
        ends = [r.finished_at.timestamp() for r in results if r.finished_at]
        drain_s = max(ends) - min(starts)
        latencies = []
        for i in range(args.latency_jobs):
            enqueued = time.time()
            result = _wait(stamp.enqueue(i))
            latencies.append(result.return_value - enqueued)
    finally:
        worker.terminate()
        worker.wait(30)
    print(
        f"{_peer()}: enqueue {args.jobs / enqueue_s:,.0f}/s; drain {args.jobs / drain_s:,.0f}/s "
        f"(first start to last end, {args.jobs} tasks); enqueue→start median "
        f"{statistics.median(latencies) * 1000:.1f} ms over {args.latency_jobs}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
