"""``manage.py arq_retry JOB_ID ... | --failed [--function F] [--since 1h] [--queue Q]``."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from arq_django.client.enqueue import flush_rows
from arq_django.management.commands._output import redis_errors, since, write_json
from arq_django.ops.actions import retry, retry_failed


class Command(BaseCommand):
    help = "Enqueue finished jobs again as new jobs (same function, arguments and queue)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("job_ids", nargs="*", metavar="JOB_ID")
        parser.add_argument("--failed", action="store_true", help="retry every failed job not yet retried")
        parser.add_argument("--function", help="with --failed: only this job name")
        parser.add_argument("--queue", help="with --failed: only this queue")
        parser.add_argument("--since", help="with --failed: only jobs that failed within e.g. 1h, 30m")
        parser.add_argument("--json", action="store_true", help="print JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        if bool(options["job_ids"]) == bool(options["failed"]):
            raise CommandError("give job ids or --failed (not both)")
        if not options["failed"] and (options["function"] or options["queue"] or options["since"]):
            raise CommandError("--function, --queue and --since only go with --failed")
        with redis_errors("retry jobs"):
            if options["failed"]:
                outcomes = retry_failed(
                    function=options["function"], queue=options["queue"], since=since(options["since"])
                )
            else:
                outcomes = retry(options["job_ids"])
        flush_rows()  # the mirror rows exist once the command returns
        if options["json"]:
            write_json(self.stdout, [o.__dict__ for o in outcomes])
        else:
            for o in outcomes:
                if o.error:
                    self.stderr.write(f"{o.job_id}: not retried: {o.error}")
                else:
                    self.stdout.write(f"{o.job_id} -> {o.new_job_id}")
            if not outcomes:
                self.stdout.write("nothing to retry")
        errors = [o for o in outcomes if o.error]
        if errors:
            raise CommandError(f"{len(errors)} of {len(outcomes)} jobs were not retried")
