"""Prune old rows: ``manage.py arq_prune_results`` and the hourly cron job ``RESULT_RETENTION`` adds."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final

import redis
from asgiref.sync import sync_to_async

from arq_django.conf import get_config
from arq_django.connection import sync_client
from arq_django.jobs.progress import progress_key
from arq_django.keys import result_key_prefix
from arq_django.models import JobResult

if TYPE_CHECKING:
    from arq.cron import CronJob

logger = logging.getLogger("arq_django.mirror")

CRON_NAME: Final = "arq_django.prune_results"
CRON_MINUTE: Final = 17
"""The built-in job runs hourly at this minute (off the full hour, when cron jobs pile up)."""
DELETE_CHUNK: Final = 1000
FORGET_CHUNK: Final = 500
_UNITS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")


def parse_age(text: str) -> timedelta:
    """``"7d"``, ``"12h"``, ``"30m"``, ``"90s"``, ``"2w"`` or plain seconds; raises ``ValueError``."""
    match = _AGE.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not an age: use a number with s, m, h, d or w, e.g. 7d or 12h.")
    number, unit = match.groups()
    return timedelta(seconds=float(number) * _UNITS[unit or "s"])


def prune(older_than: timedelta, statuses: Sequence[str] | None = None, *, dry_run: bool = False) -> int:
    """Delete rows in ``statuses`` (default: finished ones) older than ``older_than``; returns how many
    (with ``dry_run``, how many would go). Their results are deleted from Redis too, so reconcile does
    not bring them back."""
    chosen = tuple(statuses) if statuses else JobResult.FINISHED
    unknown = sorted(set(chosen) - set(JobResult.Status.values))
    if unknown:
        raise ValueError(f"unknown statuses {unknown}; choose from {JobResult.Status.values}.")
    rows = JobResult.objects.older_than(older_than).filter(status__in=chosen).order_by()
    if dry_run:
        return rows.count()
    deleted = 0
    while True:
        chunk = list(rows.values_list("pk", "job_id")[:DELETE_CHUNK])
        if not chunk:
            return deleted
        JobResult.objects.filter(pk__in=[pk for pk, _ in chunk]).delete()
        forget_results(job_id for _, job_id in chunk)
        deleted += len(chunk)


async def prune_results(ctx: dict[str, Any]) -> int:
    """The built-in cron job: prune finished rows older than ``ARQ_DJANGO['RESULT_RETENTION']``."""
    retention = get_config().result_retention
    if retention is None:
        return 0
    deleted = await sync_to_async(prune)(timedelta(seconds=retention))
    if deleted:
        logger.info("result mirror: pruned %d rows older than %s", deleted, timedelta(seconds=retention))
    return deleted


def cron_job() -> CronJob:
    """The hourly prune job for ``worker_settings.build()`` (unique: one run per hour across workers)."""
    from arq.cron import cron  # the worker's side only (arq-django[worker])

    return cron(prune_results, name=CRON_NAME, minute=CRON_MINUTE, unique=True, timeout=3600)


def forget_results(job_ids: Iterable[str]) -> None:
    """Delete the jobs' results and progress from Redis, so reconcile does not bring deleted rows
    back. Best effort: a Redis failure is logged (the results expire after ``KEEP_RESULT`` anyway)."""
    ids = list(job_ids)
    try:
        client = sync_client()
        for start in range(0, len(ids), FORGET_CHUNK):
            chunk = ids[start : start + FORGET_CHUNK]
            client.delete(*[result_key_prefix + i for i in chunk], *[progress_key(i) for i in chunk])
    except redis.RedisError as e:
        logger.warning("deleted %d rows, but not their results in Redis: %s", len(ids), e)
