"""The enqueue side of the mirror: ``enqueue()`` creates the ``queued`` / ``deferred`` row.

The row is written after Redis accepted the job; the worker may already have written a later state,
which must win. Outside a transaction the row goes to the process's buffer (:mod:`.buffer`), written in
batches by a thread within about 50 ms (or at once by :func:`arq_django.mirror.buffer.flush`), with
the rank rule of the worker's own writes. Inside ``atomic()`` it rides on the caller's transaction, as
``INSERT ... ON CONFLICT DO NOTHING`` in a savepoint, so a failure cannot break that transaction; if
it rolls back, the row goes with it and the worker recreates it. A failed write never fails the
enqueue (the job exists; raising would invite a duplicate): it is logged, and the worker creates the
row when the job starts.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any

from django.core.exceptions import SynchronousOnlyOperation
from django.db import connections, transaction
from django.utils import timezone

from arq_django.client.plan import JobPlan
from arq_django.conf import get_config
from arq_django.mirror import buffer
from arq_django.mirror.clean import clean_data, fit_id
from arq_django.mirror.rows import RowUpdate
from arq_django.mirror.writer import database_for_writes
from arq_django.models import JobResult
from arq_django.serializers import get_serializer, to_json_data

_PLAIN = frozenset({str, int, float, bool, type(None)})

logger = logging.getLogger("arq_django.mirror")


def enqueued_row(
    plan: JobPlan, args: tuple[Any, ...], kwargs: dict[str, Any], retry_of: JobResult | None = None
) -> JobResult:
    """The row for a job just written to Redis."""
    deferred = plan.score > round(time.time() * 1000)
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
        max_tries=plan.max_tries or get_config().max_tries,
        enqueued_at=timezone.now(),
        scheduled_for=_ms_to_datetime(plan.score) if deferred else None,
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


def _ms_to_datetime(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)


def enqueued_update(plan: JobPlan, args: tuple[Any, ...], kwargs: dict[str, Any]) -> RowUpdate:
    """The buffered form of :func:`enqueued_row`: what the writer thread upserts."""
    now = time.time()
    deferred = plan.score > round(now * 1000)
    if not (all(type(a) in _PLAIN for a in args) and all(type(v) in _PLAIN for v in kwargs.values())):
        args, kwargs = _snapshot(plan, args, kwargs)
    return RowUpdate(
        job_id=plan.job_id,
        status=JobResult.Status.DEFERRED if deferred else JobResult.Status.QUEUED,
        tries=0,
        function=plan.function,
        queue_name=plan.queue_name,
        args=args,
        kwargs=kwargs,
        max_tries=plan.max_tries or get_config().max_tries,
        enqueued_at=dt.datetime.fromtimestamp(now, tz=dt.UTC),
        scheduled_for=_ms_to_datetime(plan.score) if deferred else None,
    )


def _snapshot(
    plan: JobPlan, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The arguments as the job record holds them: the caller may change a list it passed before the
    row is written, and the row must show what the worker will run."""
    try:
        record = get_serializer().loads(plan.payload)
        return tuple(record["a"]), dict(record["k"])
    except Exception:
        return args, kwargs


def record_enqueued(plan: JobPlan, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Create the job's row: in the caller's transaction if it holds one, else through the buffer;
    never raises."""
    try:
        if connections[database_for_writes()].in_atomic_block:
            insert(enqueued_row(plan, args, kwargs))
        else:
            buffer.rows.add(enqueued_update(plan, args, kwargs))
    except Exception as e:
        _log_failure(plan, e)


async def arecord_enqueued(plan: JobPlan, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Async twin of :func:`record_enqueued`: the same buffer (there is no ``atomic()`` in async code),
    no thread hop per call."""
    try:
        buffer.rows.add(enqueued_update(plan, args, kwargs))
    except Exception as e:
        _log_failure(plan, e)
