"""``manage.py demo``: start a worker, enqueue the seed's two jobs and create an ``Export`` task row,
print their outcome, stop the worker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from arq_django import JobHandle, enqueue
from arq_django.conf import get_config
from arq_django.connection import redact_url
from arq_django.models import JobResult
from demo.models import Export

RESULT_TIMEOUT = 60.0
FINISHED = JobResult.FINISHED
EXPORT_QUEUE = "exports"


def describe_redis(url: str, run_dir: Path) -> str:
    """Say which Redis the demo writes to: the throwaway embedded one, or a server someone chose."""
    if url == f"unix://{run_dir / 'redis.sock'}":
        return f"Redis: {url}, an embedded redis-server of the demo's own (stopped when it ends)."
    return (
        f"Redis: {redact_url(url)}, a server you chose: the demo writes arq:* keys into that database "
        "only. Unset REDIS_URL for a throwaway embedded one."
    )


class Command(BaseCommand):
    help = "Run the arq_django demo end to end: worker, two jobs, results."

    def handle(self, *args: Any, **options: Any) -> None:
        redis_url = get_config().redis_url
        self.stdout.write(self.style.WARNING(describe_redis(redis_url, settings.BASE_DIR / ".run")))
        worker_env = {**os.environ, "REDIS_URL": redis_url}
        # One worker for the default queue, one for the Export rows' own queue.
        workers = [
            subprocess.Popen(
                [sys.executable, "-m", "arq", "arq_django.worker.WorkerSettings"],
                env={**worker_env, **extra},
                cwd=settings.BASE_DIR,
            )
            for extra in ({}, {"ARQ_QUEUE": EXPORT_QUEUE})
        ]
        try:
            self._run_jobs()
        finally:
            for worker in workers:
                worker.send_signal(signal.SIGTERM)
            for worker in workers:
                try:
                    worker.wait(30)
                except subprocess.TimeoutExpired:
                    worker.kill()
                    worker.wait()
        self.stdout.write(self.style.SUCCESS("demo complete: workers stopped"))

    def _run_jobs(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "report.csv"
            path.write_text("id,name,score\n" + "".join(f"{i},user{i},{i * 7 % 100}\n" for i in range(5000)))
            email = enqueue("email", to="user@example.com", subject="Hello from arq_django", body="It works.")
            gzip = enqueue("file_process", path=str(path))
            handles: list[JobHandle] = [h for h in (email, gzip) if h is not None]
            failures = 0
            for handle in handles:
                try:
                    result = handle.result(timeout=RESULT_TIMEOUT)
                except Exception as e:
                    failures += 1
                    self.stdout.write(f"{handle.function:<13} {handle.job_id}  FAILED  {e!r}")
                    continue
                self.stdout.write(
                    f"{handle.function:<13} {handle.job_id}  {handle.status().value}  {result!r}"
                )
            self.stdout.write(f"file_process input: {path.stat().st_size} bytes")
        failures += self._run_export()
        if failures:
            raise CommandError(f"{failures} demo job(s) failed")

    def _run_export(self) -> int:
        """A task row: creating an ``Export`` enqueues it; the worker writes the outcome on the row."""
        export = Export.objects.create(requested_by="demo")
        deadline = time.monotonic() + RESULT_TIMEOUT
        while export.status not in FINISHED and time.monotonic() < deadline:
            time.sleep(0.05)
            export.refresh_from_db()
        self.stdout.write(
            f"{'Export row':<13} pk={export.pk} job {export.job_id}  {export.status}  "
            f"{export.result or export.error!r}"
        )
        return 0 if export.status == "complete" else 1
