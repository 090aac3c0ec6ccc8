"""``manage.py arq_abort JOB_ID ... [--wait SECONDS]``: abort waiting or running jobs."""

from __future__ import annotations

import time
from typing import Any

import redis
from django.core.management.base import BaseCommand, CommandError, CommandParser

from arq_django.client.abort import abort
from arq_django.ops.history import get_result

POLL = 0.1


class Command(BaseCommand):
    help = "Abort jobs by id (arq's abort: running jobs are cancelled, waiting ones never start)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("job_ids", nargs="+", metavar="JOB_ID")
        parser.add_argument("--wait", type=float, default=0.0, help="wait up to this many seconds per job")

    def handle(self, *args: Any, **options: Any) -> None:
        missing = []
        for job_id in options["job_ids"]:
            try:
                requested = abort(job_id)
            except redis.RedisError as e:
                raise CommandError(f"could not abort job {job_id}: Redis failed with {e}") from e
            if not requested:
                missing.append(job_id)
                self.stderr.write(f"{job_id}: not waiting or running (unknown id, or already finished)")
                continue
            self.stdout.write(f"{job_id}: abort requested{self._wait(job_id, options['wait'])}")
        if missing:
            raise CommandError(f"{len(missing)} of {len(options['job_ids'])} jobs could not be aborted")

    def _wait(self, job_id: str, seconds: float) -> str:
        if seconds <= 0:
            return ""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            record = get_result(job_id)
            if record is not None:
                return f", {record.status}"
            time.sleep(POLL)
        return f", still not finished after {seconds:g} s (is a worker running?)"
