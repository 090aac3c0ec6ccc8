"""Tasks as rows against ``enqueue()`` of the same work: ``python -m bench.model_tasks [--rows N]``.

The work is the demo's ``Export.do_task`` (a CSV of the users). Three variants, each timed from the first
enqueue (or row) to the end of a burst worker's drain, in its own Redis database (``--db``, FLUSHDB-ed
around every run) and the bench's SQLite file (``DATABASE_URL`` to change it):

- ``enqueue()``: a ``@job`` doing the same work, result kept in Redis only;
- ``Export.objects.create()`` per row: one INSERT per row (its own commit, which enqueues its job);
- ``Export.objects.bulk_create()``: one INSERT and one Redis pipeline for all rows;
- by hand: what a user wires without ``TaskModel``, a plain INSERT per row and ``enqueue()`` of a
  ``@job`` that loads the row, marks it started, does the work and writes the outcome back (the
  same four statements as a task row), to show where the gap to ``enqueue()`` goes.

A row costs the database, beyond the ``@job``: the INSERT, then in the worker one UPDATE at start
(status, ``started_at``, ``tries``; on PostgreSQL and SQLite it returns the row, fresh, else a SELECT
follows) and one at the end (outcome and the fields the task set). arq_django runs at its defaults: the
result mirror on, its row written at enqueue, for every variant alike (``--no-mirror``: off for all,
not the default). The target: rows per second at least 0.5x ``enqueue()``'s jobs per second.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import redis
from django.core.management import call_command
from django.db import connection, models
from django.utils import timezone

from .run import DEFAULT_URL, BenchFailed, setup_django, with_db

TARGET = 0.5
JOB = "bench_users_csv"
BY_HAND = "bench_row_by_hand"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.model_tasks", description=__doc__.split("\n")[0])
    parser.add_argument("--redis-url", default=DEFAULT_URL)
    parser.add_argument("--db", type=int, default=14, help="the bench's Redis database (FLUSHDB-ed)")
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the best of each variant counts")
    parser.add_argument(
        "--no-mirror",
        action="store_true",
        help="the result mirror off (not the default): no JobResult rows for either side",
    )
    return parser.parse_args(argv)


def _drain(queue: str) -> None:
    from arq_django.worker.settings import create_worker

    async def drain() -> None:
        worker = create_worker(queue, burst=True, handle_signals=False)
        try:
            await worker.async_run()
        finally:
            await worker.close()

    asyncio.run(drain())


def _timed(produce: Callable[[], None], queue: str, check: Callable[[], None]) -> float:
    start = time.perf_counter()
    produce()
    _drain(queue)
    seconds = time.perf_counter() - start
    check()
    return seconds


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    url = with_db(args.redis_url, args.db)
    setup_django(url, defaults=not args.no_mirror)
    call_command("migrate", interactive=False, verbosity=0)
    if connection.vendor == "sqlite":
        # The worker writes rows from its thread pool: in SQLite's default rollback journal every write
        # waits for the others' locks. WAL (kept by the file) is how a SQLite site runs writers at once.
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode=WAL")
    from arq_django import enqueue, job
    from arq_django.mirror.buffer import flush as flush_rows
    from arq_django.model_tasks.recovery import CRON_NAME as RECOVERY_CRON
    from arq_django.model_tasks.submit import job_name, plan_queue
    from arq_django.models import JobResult
    from demo.models import Export, users_csv

    queue = plan_queue(Export)  # the jobs run on the rows' queue too, so one worker drains each variant

    @job(JOB, queue=queue)
    def bench_users_csv(ctx: dict[str, Any], i: int) -> dict[str, int]:
        text = users_csv()
        return {"rows": text.count("\n") - 1, "bytes": len(text)}

    @job(BY_HAND, queue=queue)
    def bench_row_by_hand(ctx: dict[str, Any], pk: int) -> dict[str, int]:
        """The writes a task row costs, wired by hand around the same work: load, mark, run, write back."""
        row = Export.objects.get(pk=pk)
        Export.objects.filter(pk=pk).update(status="in_progress", started_at=timezone.now(), tries=1)
        row.csv = users_csv()
        summary = {"rows": row.csv.count("\n") - 1, "bytes": len(row.csv)}
        Export.objects.filter(pk=pk).update(
            status="complete", result=summary, csv=row.csv, rows=summary["rows"], finished_at=timezone.now()
        )
        return summary

    admin = redis.Redis.from_url(url)
    plain: models.QuerySet[Export] = models.QuerySet(
        Export
    )  # inserts without TaskQuerySet: no job is enqueued for these rows
    n = args.rows

    ours = [JOB, BY_HAND, job_name(Export), RECOVERY_CRON]  # the drains' workers run the recovery cron too

    def reset() -> None:
        admin.flushdb()
        Export.objects.all().delete()
        flush_rows(timeout=30)  # the enqueue-time rows still buffered, then every row the bench made
        JobResult.objects.filter(function__in=ours).delete()

    def jobs_done() -> None:
        if admin.zcard(queue):
            raise BenchFailed(f"{admin.zcard(queue)} jobs left on {queue!r} after the drain")

    def rows_done() -> None:
        jobs_done()
        complete = Export.objects.filter(status="complete").count()
        if complete != n:
            raise BenchFailed(f"{complete} of {n} Export rows complete after the drain")

    def by_enqueue() -> None:
        for i in range(n):
            enqueue(JOB, i)

    def by_create() -> None:
        for i in range(n):
            Export.objects.create(requested_by=str(i))

    def by_bulk_create() -> None:
        Export.objects.bulk_create(Export(requested_by=str(i)) for i in range(n))

    def by_hand() -> None:
        for i in range(n):
            enqueue(BY_HAND, plain.create(requested_by=str(i)).pk)

    variants: dict[str, Callable[[], None]] = {
        "enqueue() jobs": by_enqueue,
        "by hand: row + enqueue()": by_hand,
        "create() rows": by_create,
        "bulk_create() rows": by_bulk_create,
    }
    best: dict[str, float] = {}
    for _ in range(args.repeat):
        for label, produce in variants.items():
            reset()
            seconds = _timed(produce, queue, jobs_done if label.startswith("enqueue") else rows_done)
            best[label] = min(best.get(label, seconds), seconds)
    reset()
    base = n / best["enqueue() jobs"]
    print(f"tasks as rows: {n} rows/jobs, best of {args.repeat}, created and run (burst worker drain)")
    for label, seconds in best.items():
        rate = n / seconds
        print(f"  {label:<26} {rate:8.0f}/s  {rate / base:5.2f}x enqueue()")
    print("  per row, beyond enqueue(): 1 INSERT, then in the worker 2 UPDATEs (the first returns the row)")
    worst = min(n / best[k] for k in ("create() rows", "bulk_create() rows")) / base
    print(f"RATIO rows/enqueue {worst:.2f}x (target >= {TARGET}x): {'ok' if worst >= TARGET else 'MISSED'}")
    return 0 if worst >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
