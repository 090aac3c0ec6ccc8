"""The enqueue side of the mirror: ``enqueue()`` creates the ``queued`` / ``deferred`` row.

The row is written after Redis accepted the job, as ``INSERT ... ON CONFLICT DO NOTHING``: the worker
may already have written a later state, which must win. A failed insert never fails the enqueue (the
job exists; raising would invite a duplicate): it is logged, and the worker creates the row when the
job starts. Inside ``atomic()`` the insert runs in a savepoint, so a failure cannot break the caller's
transaction; if that transaction rolls back, the row goes with it and the worker recreates it.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import SynchronousOnlyOperation
from django.db import connections, transaction
from django.utils import timezone

from arq_django.client.plan import JobPlan
from arq_django.client.wire import ms_to_datetime, timestamp_ms
from arq_django.conf import get_config
from arq_django.jobs.registry import registry
from arq_django.mirror.clean import clean_data, fit_id
from arq_django.mirror.writer import database_for_writes
from arq_django.models import JobResult
from arq_django.serializers import get_serializer, to_json_data

logger = logging.getLogger("arq_django.mirror")


def enqueued_row(
    plan: JobPlan, args: tuple[Any, ...], kwargs: dict[str, Any], retry_of: JobResult | None = None
) -> JobResult:
    """The row for a job just written to Redis."""
    deferred = plan.score > timestamp_ms()
    spec = registry.get(plan.function)
    args_data, kwargs_data = to_json_data(args), to_json_data(kwargs)
    # The same cleaning as the worker's writes (mirror.clean), or the job's two writers would disagree
    # on its id. A JSON payload shows a NUL as an escape, and it cannot hold a lone surrogate.
    if b"\\u0000" in plan.payload or get_serializer().name != "json":
        args_data, kwargs_data = clean_data(args_data), clean_data(kwargs_data)
    return JobResult(
        job_id=fit_id(plan.job_id),
        function=plan.function,
        queue_name=plan.queue_name,
        status=JobResult.Status.DEFERRED if deferred else JobResult.Status.QUEUED,
        rank=0,
        args=args_data,
        kwargs=kwargs_data,
        max_tries=spec.max_tries or get_config().max_tries,
        enqueued_at=timezone.now(),
        scheduled_for=ms_to_datetime(plan.score) if deferred else None,
        retry_of=retry_of,
    )


def insert(row: JobResult) -> None:
    """Insert ``row`` unless its job id has a row already (raises the database's error)."""
    alias = database_for_writes()
    manager = JobResult.objects.db_manager(alias)
    if connections[alias].in_atomic_block:
        with transaction.atomic(using=alias):  # a savepoint: a failure leaves the caller's transaction usable
            manager.bulk_create([row], ignore_conflicts=True)
    else:
        manager.bulk_create([row], ignore_conflicts=True)


def _log_failure(plan: JobPlan, e: Exception) -> None:
    if isinstance(e, SynchronousOnlyOperation):
        reason = "enqueue() was called from async code, where the ORM cannot run: use aenqueue()"
    else:
        reason = f"{type(e).__name__}: {e}"
    logger.warning(
        "job %s (%s) is enqueued on %s, but its JobResult row was not created (%s); the worker creates "
        "it when the job starts",
        plan.job_id,
        plan.function,
        plan.queue_name,
        reason,
    )


def record_enqueued(plan: JobPlan, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Create the job's row; never raises."""
    try:
        insert(enqueued_row(plan, args, kwargs))
    except Exception as e:
        _log_failure(plan, e)


async def arecord_enqueued(plan: JobPlan, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Async twin of :func:`record_enqueued` (the async ORM; there is no ``atomic()`` in async code)."""
    try:
        row = enqueued_row(plan, args, kwargs)
        await JobResult.objects.db_manager(database_for_writes()).abulk_create([row], ignore_conflicts=True)
    except Exception as e:
        _log_failure(plan, e)
