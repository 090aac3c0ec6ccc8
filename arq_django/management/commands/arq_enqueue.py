"""``manage.py arq_enqueue NAME [--args JSON] [--kwargs JSON] [--defer 30s] [--queue Q] [--job-id ID]``."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from arq_django.client.enqueue import flush_rows
from arq_django.exceptions import ArqDjangoError
from arq_django.management.commands._output import duration, json_argument, write_json
from arq_django.ops.actions import submit


class Command(BaseCommand):
    help = "Enqueue a registered job by name; prints its id."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="registered job name (or dotted path)")
        parser.add_argument(
            "--args", dest="job_args", help="positional arguments as a JSON array, e.g. '[1, \"a\"]'"
        )
        parser.add_argument(
            "--kwargs", dest="job_kwargs", help='keyword arguments as a JSON object, e.g. \'{"to": "a@b.c"}\''
        )
        parser.add_argument("--defer", help="run after this long, e.g. 30s, 5m, 1h")
        parser.add_argument("--queue", help="queue (default: the job's own, else ARQ_DJANGO['QUEUE'])")
        parser.add_argument("--job-id", help="the job id (enqueue nothing if it already exists)")
        parser.add_argument("--json", action="store_true", help="print JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["name"]
        job_args = json_argument("--args", options["job_args"], list, '[1, "a"]')
        job_kwargs = json_argument("--kwargs", options["job_kwargs"], dict, '{"to": "a@example.com"}')
        defer = duration("--defer", options["defer"]) if options["defer"] else None
        try:
            handle = submit(
                name, job_args, job_kwargs, queue=options["queue"], job_id=options["job_id"], defer=defer
            )
        except (ArqDjangoError, ValueError, TypeError) as e:
            raise CommandError(str(e)) from e
        flush_rows()  # the mirror rows exist once the command returns
        if handle is None:
            raise CommandError(f"job {options['job_id']!r} already exists: nothing was enqueued")
        if options["json"]:
            data = {"job_id": handle.job_id, "function": handle.function, "queue": handle.queue_name}
            write_json(self.stdout, data)
        else:
            self.stdout.write(handle.job_id)
