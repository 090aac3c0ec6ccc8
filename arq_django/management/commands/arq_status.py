"""``manage.py arq_status [--queue Q] [--json]``: queues, live workers and the last hour at a glance."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from arq_django.ingest.status import SourceStats, list_sources, source_stats
from arq_django.management.commands._output import ago, redis_errors, table, write_json
from arq_django.ops.status import Status, read_status

QUEUE_COLUMNS = [
    *["QUEUE", "QUEUED", "DEFERRED", "RUNNING", "OLDEST", "WORKERS"],
    *["DONE/1h", "FAILED/1h", "JOBS/MIN"],
]
SOURCE_COLUMNS = ["LIST", "PENDING", "IN FLIGHT", "DEAD", "INGESTERS", "DOWN"]
WORKER_COLUMNS = ["WORKER", "QUEUE", "UP", "RUNNING", "COMPLETE", "FAILED", "RETRIED", "LAST JOB", "BEAT"]


class Command(BaseCommand):
    help = "Show queue depths, live workers with their figures, and the last hour's outcomes."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--queue", help="show this queue only")
        parser.add_argument("--json", action="store_true", help="print JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        with redis_errors("read the queues' status"):
            status = read_status(options["queue"])
            sources = [source_stats(source) for source in list_sources()]
        if options["json"]:
            write_json(self.stdout, {**status.as_dict(), "sources": [s.as_dict() for s in sources]})
            return
        self.stdout.write(f"at {datetime.fromtimestamp(status.at, UTC):%Y-%m-%d %H:%M:%S} UTC\n")
        for line in table(QUEUE_COLUMNS, queue_rows(status)):
            self.stdout.write(line)
        self.stdout.write("")
        if sources:
            for line in table(SOURCE_COLUMNS, source_rows(sources)):
                self.stdout.write(line)
            self.stdout.write("")
        if not status.workers:
            self.stdout.write("no live workers")
            return
        for line in table(WORKER_COLUMNS, worker_rows(status)):
            self.stdout.write(line)


def queue_rows(status: Status) -> list[list[Any]]:
    rows = []
    for q in status.queues:
        d, r = q.depth, q.recent
        oldest = "-" if d.oldest_age is None else f"{d.oldest_age:.1f}s"
        failed = r.failed + r.aborted
        rows.append([d.queue, d.queued, d.deferred, d.running, oldest, q.workers])
        rows[-1] += [r.complete, failed, r.per_minute]
    return rows


def source_rows(sources: list[SourceStats]) -> list[list[Any]]:
    """One row per list source; DOWN names the workers whose ingester crashed and waits to restart."""
    rows = []
    for s in sources:
        down = ", ".join(f"{d.worker} ({d.error})" for d in s.down) or "-"
        rows.append([s.source, s.pending, s.in_flight, s.dead, s.ingesters, down])
    return rows


def worker_rows(status: Status) -> list[list[Any]]:
    now = status.at
    return [
        [
            f"{w.host}:{w.pid}",
            w.queue,
            ago(w.started_at, now).removesuffix(" ago"),
            f"{w.jobs_running}/{w.max_jobs}",
            w.jobs_complete,
            w.jobs_failed,
            w.jobs_retried,
            ago(w.last_job_at, now),
            ago(w.beat_at, now),
        ]
        for w in status.workers
    ]
