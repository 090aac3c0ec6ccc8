"""``manage.py arq_results [--status failed] [--function F] [--queue Q] [--since 1h] [--limit 20]``."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from arq_django.management.commands._output import redis_errors, since, write_json
from arq_django.ops.history import find_results


class Command(BaseCommand):
    help = "List finished jobs, newest first (those whose results are still kept)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--status", choices=["complete", "failed", "aborted"])
        parser.add_argument("--function", help="only this job name")
        parser.add_argument("--queue", help="only this queue")
        parser.add_argument("--since", help="only jobs finished within e.g. 1h, 30m")
        parser.add_argument("--limit", type=int, default=20)
        parser.add_argument("--json", action="store_true", help="print JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        with redis_errors("read the job results"):
            records = find_results(
                status=options["status"],
                function=options["function"],
                queue=options["queue"],
                since=since(options["since"]),
                limit=max(options["limit"], 0),
            )
        if options["json"]:
            rows = [
                {
                    "job_id": r.job_id,
                    "status": r.status,
                    "function": r.function,
                    "queue": r.queue,
                    "args": list(r.args),
                    "kwargs": r.kwargs,
                    "job_try": r.job_try,
                    "enqueue_time": r.enqueue_time,
                    "start_time": r.start_time,
                    "finish_time": r.finish_time,
                    "result": r.result if r.success else None,
                    "error": r.error,
                }
                for r in records
            ]
            write_json(self.stdout, rows)
            return
        for r in records:
            took = (r.finish_time - r.start_time).total_seconds()
            detail = r.error if r.error else repr(r.result)[:60]
            self.stdout.write(
                f"{r.finish_time:%Y-%m-%d %H:%M:%S}  {r.status:<8} {r.function:<20} {took:7.2f}s  "
                f"{r.job_id}  {detail}"
            )
        if not records:
            self.stdout.write("no results")
