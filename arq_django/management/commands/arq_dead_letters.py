"""``manage.py arq_dead_letters``: show, replay or delete list messages that could not become jobs."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from arq_django.ingest import dead_letters
from arq_django.ingest.status import list_sources


class Command(BaseCommand):
    help = "Inspect <key>:dead; --requeue pushes the messages back onto <key>, --drop deletes them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--key",
            action="append",
            help="source list (repeatable; default ARQ_DJANGO['LIST_SOURCES'], else async_tasks)",
        )
        action = parser.add_mutually_exclusive_group()
        action.add_argument("--requeue", action="store_true", help="push each message back onto its list")
        action.add_argument("--drop", action="store_true", help="delete the entries")
        parser.add_argument("--limit", type=int, help="only the N oldest entries")
        parser.add_argument("--json", action="store_true", help="one JSON object per line")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["limit"] is not None and options["limit"] < 1:
            raise CommandError("--limit must be at least 1")
        for source in options["key"] or list_sources() or ["async_tasks"]:
            letters = dead_letters.dead_letters(source, options["limit"])
            for letter in letters:
                self._show(letter, options["json"])
            if options["requeue"]:
                done = sum(dead_letters.requeue(letter) for letter in letters)
                self.stdout.write(f"{source}: {done} of {len(letters)} messages pushed back onto {source}")
            elif options["drop"]:
                done = sum(dead_letters.drop(letter) for letter in letters)
                self.stdout.write(f"{source}: {done} of {len(letters)} dead letters deleted")
            elif not options["json"]:
                total = dead_letters.dead_letter_count(source)
                self.stdout.write(f"{source}:dead holds {total} messages")

    def _show(self, letter: dead_letters.DeadLetter, as_json: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps(letter.as_dict(), ensure_ascii=False))
            return
        data = letter.as_dict()
        when = data["at"] or "?"
        self.stdout.write(f"{when}  {letter.reason}\n    {data['encoding']}: {data['message']}")
