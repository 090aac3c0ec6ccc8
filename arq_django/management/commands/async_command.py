"""``manage.py async_command``: the old "JSON in a Redis list" consumer's name and flags, feeding arq.

Producers keep LPUSHing ``{"type": ..., "data": {...}}`` onto ``--redis-key``; each message becomes an
arq_django job (or, with ``--run-inline``, runs here). See :mod:`arq_django.ingest`.
"""

from __future__ import annotations

import asyncio
from typing import Any

import redis
from django.core.management.base import BaseCommand, CommandError, CommandParser

from arq_django.conf import get_config
from arq_django.connection import redact_url
from arq_django.exceptions import RedisUnavailable
from arq_django.ingest import InlineIngester, ListIngester
from arq_django.ingest.ingester import run_until_signalled
from arq_django.management.commands._worker_args import add_worker_arguments
from arq_django.worker import logs
from arq_django.worker.redis_wait import wait_for_redis


def _positive(cast: type[int] | type[float]) -> Any:
    def parse(text: str) -> int | float:
        value = cast(text)
        if value <= 0:
            raise ValueError(text)
        return value

    parse.__name__ = cast.__name__
    return parse


class Command(BaseCommand):
    help = (
        "Move JSON messages ({'type': job, 'data': {...}}) from a Redis list into arq_django jobs; "
        "malformed ones go to <key>:dead. Stops cleanly on Ctrl+C / SIGTERM."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--redis-key", default="async_tasks", help="the list producers push onto")
        parser.add_argument(
            "--interval",
            type=_positive(float),
            default=1.0,
            help="seconds each blocking wait lasts (messages are taken at once; this bounds how long a "
            "stop request waits)",
        )
        parser.add_argument("--max-tasks", type=_positive(int), help="stop after this many messages")
        parser.add_argument(
            "--max-concurrent",
            type=_positive(int),
            help="with --run-inline: jobs run at once (default 5); otherwise the worker's MAX_JOBS rules",
        )
        parser.add_argument(
            "--run-inline",
            action="store_true",
            help="run the jobs in this process instead of enqueueing them for arq workers",
        )
        add_worker_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        source: str = options["redis_key"]
        common: dict[str, Any] = {"block": options["interval"], "max_messages": options["max_tasks"]}
        ingester: ListIngester
        if options["run_inline"]:
            ingester = InlineIngester(source, max_concurrent=options["max_concurrent"] or 5, **common)
        else:
            if options["max_concurrent"] is not None:
                self.stderr.write(
                    "--max-concurrent applies to --run-inline only: arq workers run the jobs, "
                    "ARQ_DJANGO['MAX_JOBS'] at a time each."
                )
            ingester = ListIngester(source, **common)
        logs.configure(options["log_level"], verbose=options["verbosity"] > 1)
        try:
            wait_for_redis(options["redis_retries"])
        except RedisUnavailable as e:
            raise CommandError(str(e)) from e
        try:
            stats = asyncio.run(run_until_signalled(ingester))
        except (redis.RedisError, OSError) as e:
            raise CommandError(f"Redis at {redact_url(get_config().redis_url)} failed: {e}") from e
        self.stdout.write(
            f"{source}: {stats.taken} messages taken: {stats.enqueued} enqueued, "
            f"{stats.duplicates} duplicates, {stats.dead} to {source}:dead"
            + (f", {stats.ran} ran, {stats.failed} failed" if options["run_inline"] else "")
        )
