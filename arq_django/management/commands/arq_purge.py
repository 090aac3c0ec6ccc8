"""``manage.py arq_purge --queue Q [--yes]``: drop a queue's waiting jobs (running ones finish)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from arq_django.connection import sync_client
from arq_django.ops.actions import purge
from arq_django.ops.queues import check_queue_key, queue_depths


class Command(BaseCommand):
    help = "Drop every queued and deferred job of one queue; other queues and running jobs are untouched."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--queue", required=True, help="the queue to empty (its Redis key)")
        parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    def handle(self, *args: Any, **options: Any) -> None:
        queue = options["queue"]
        client = sync_client(queue=queue)
        try:
            check_queue_key(client, queue)
        except ValueError as e:
            raise CommandError(f"{e}: nothing dropped") from e
        depth = queue_depths(client, [queue])[0]
        waiting = depth.queued + depth.deferred
        if waiting == 0:
            self.stdout.write(f"{queue}: no waiting jobs")
            return
        if not options["yes"]:
            prompt = f"Drop {waiting} waiting jobs of queue {queue!r} ({depth.running} running stay)? [y/N] "
            try:
                answer = input(prompt)
            except EOFError:
                answer = ""
            if answer.strip().lower() not in ("y", "yes"):
                raise CommandError("nothing dropped")
        dropped = purge(queue)
        self.stdout.write(f"{queue}: dropped {dropped} jobs")
