"""``manage.py arq_prune_results --older-than 7d [--status complete ...] [--dry-run]``."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from arq_django.mirror.retention import parse_age, prune
from arq_django.models import JobResult


class Command(BaseCommand):
    help = "Delete JobResult rows (and their results in Redis) older than an age."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than",
            required=True,
            help="age such as 7d, 12h, 30m, 90s or 2w (finished, else enqueued)",
        )
        parser.add_argument(
            "--status",
            action="append",
            choices=JobResult.Status.values,
            help="only rows in this status (repeatable; default: complete, failed and aborted)",
        )
        parser.add_argument("--dry-run", action="store_true", help="count the rows, delete nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            age = parse_age(options["older_than"])
        except ValueError as e:
            raise CommandError(str(e)) from e
        count = prune(age, options["status"], dry_run=options["dry_run"])
        verb = "would delete" if options["dry_run"] else "deleted"
        self.stdout.write(f"{verb} {count} job result row(s) older than {age}")
