"""The worker side of a task row: load it fresh, mark it started, call ``do_task`` / ``ado_task``, write
the outcome back.

Every write is conditional on the row still naming this job and try (``job_id`` and ``tries``), so a
row deleted, reset or re-run meanwhile, or a late thread from a timed-out try, changes nothing. A
row that is gone when its job starts ends the job as a logged no-op (result ``None``).
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import json
import logging
import time
import traceback as tb
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID

from asgiref.sync import sync_to_async
from django.db import models
from django.utils import timezone

from arq_django.conf import get_config
from arq_django.connection import sync_client
from arq_django.exceptions import PayloadError
from arq_django.jobs.registry import JobSpec, job, registry
from arq_django.jobs.retry import max_tries, retry_exceptions
from arq_django.keys import in_progress_key_prefix
from arq_django.model_tasks.mark import mark_started
from arq_django.model_tasks.options import options_for
from arq_django.model_tasks.outcome import write_outcome
from arq_django.model_tasks.submit import job_name, plan_queue
from arq_django.worker.threads import abandoned

if TYPE_CHECKING:
    from arq_django.model_tasks.model import TaskModel

logger = logging.getLogger("arq_django.model_tasks")
OVERRUN_MARGIN_S = 2.0
"""A sync try that arq ended within this much of its timeout timed out (else it was aborted)."""


@dataclass(frozen=True)
class Started:
    """A row its job has claimed: the instance ``do_task`` runs on and its field values before."""

    row: TaskModel
    before: dict[str, Any]
    job_id: str
    job_try: int


def _is_async(model: type[TaskModel]) -> bool:
    from arq_django.model_tasks.model import TaskModel

    return model.ado_task is not TaskModel.ado_task


def register(model: type[TaskModel]) -> JobSpec:
    """Register the job that runs ``model``'s rows (called when Django prepares the model class)."""
    name = job_name(model)
    options = options_for(model).job_options()
    if _is_async(model):

        async def run_row(ctx: dict[str, Any], pk: Any) -> Any:
            return await arun(model, ctx, pk)

    else:

        def run_row(ctx: dict[str, Any], pk: Any) -> Any:  # type: ignore[misc]
            return run(model, ctx, pk)

    run_row.__module__ = model.__module__
    run_row.__qualname__ = f"{model.__qualname__}.do_task"
    job(name, **options)(run_row)
    return registry.get(name)


def start(model: type[TaskModel], ctx: dict[str, Any], pk: Any) -> Started | None:
    """Load the row fresh and mark it started; ``None`` (logged) when it is gone or has another job."""
    job_id, job_try = str(ctx.get("job_id", "")), int(ctx.get("job_try") or 1)
    row = mark_started(model, pk, job_id, job_try, timezone.now())
    if row is None:
        owner = model._base_manager.filter(pk=pk).values_list("job_id", flat=True).first()
        logger.info(
            "job %s: %s pk=%s %s; nothing to do",
            job_id,
            model._meta.label,
            pk,
            "was deleted before its job ran" if owner is None else f"now belongs to job {owner!r}",
        )
        return None
    row.ctx = ctx
    return Started(row, _values(row), job_id, job_try)


_IMMUTABLE = (
    type(None),
    bool,
    int,
    float,
    str,
    bytes,
    dt.datetime,
    dt.date,
    dt.time,
    dt.timedelta,
    Decimal,
    UUID,
)


def _values(row: models.Model) -> dict[str, Any]:
    # Copies, so that a JSON field the task changes in place still counts as changed.
    values = {f.attname: getattr(row, f.attname) for f in row._meta.concrete_fields}
    return {k: v if type(v) in _IMMUTABLE else copy.deepcopy(v) for k, v in values.items()}


def _save(started: Started, outcome: dict[str, Any]) -> None:
    row = started.row
    after = _values(row)
    fields = {k: v for k, v in after.items() if k != row._meta.pk.attname and v != started.before.get(k)}
    fields.update(outcome, finished_at=timezone.now())
    if not write_outcome(type(row), row.pk, started.job_id, started.job_try, fields):
        logger.info(
            "job %s: %s pk=%s changed meanwhile; its outcome is not written",
            started.job_id,
            row._meta.label,
            row.pk,
        )


def complete(started: Started, result: Any) -> None:
    try:
        json.dumps(result)
    except (TypeError, ValueError) as e:
        error = PayloadError(
            f"job {started.job_id}: {started.row._meta.label}.do_task() returned a "
            f"{type(result).__qualname__}, which the row's JSON result field cannot hold ({e}); return "
            "plain data (str, numbers, lists, dicts with str keys)."
        )
        fail(started, error, "failed")
        raise error from e
    _save(started, {"status": "complete", "result": result, "error": "", "traceback": ""})


def fail(started: Started, e: BaseException, status: str) -> None:
    _save(
        started,
        {"status": status, "error": f"{type(e).__name__}: {e}", "traceback": "".join(tb.format_exception(e))},
    )


def _cancelled(started: Started, reason: str, status: str) -> None:
    _save(started, {"status": status, "error": reason, "traceback": ""})


def _status_after(model: type[TaskModel], ctx: dict[str, Any], e: BaseException) -> str:
    """``retrying`` if the job runs again (``Retry``, or ``retry_on`` with tries left), else ``failed``."""
    if isinstance(e, retry_exceptions()):
        return "retrying"
    spec = registry.get(job_name(model))
    tries_left = int(ctx.get("job_try") or 1) < max_tries(ctx, spec.max_tries)
    if spec.retry is not None and spec.retry.retries(e) and tries_left:
        return "retrying"
    return "failed"


def run(model: type[TaskModel], ctx: dict[str, Any], pk: Any) -> Any:
    """The sync job (in the worker's thread pool): one row, ``do_task``."""
    began = time.monotonic()
    started = start(model, ctx, pk)
    if started is None:
        return None
    try:
        result = started.row.do_task()
    except Exception as e:
        if not _overran(model, ctx, started, began):
            fail(started, e, _status_after(model, ctx, e))
        raise
    if not _overran(model, ctx, started, began):
        complete(started, result)
    return result


def _overran(model: type[TaskModel], ctx: dict[str, Any], started: Started, began: float) -> bool:
    """A thread cannot be stopped: when arq ended the job while ``do_task`` ran (its timeout, an abort,
    a shutdown), the row says so instead of what the late thread brought back."""
    gone = abandoned()  # the worker's own word, when the row runs in its sync pool
    if gone is None:
        gone = not sync_client(queue=plan_queue(model)).exists(in_progress_key_prefix + started.job_id)
    if not gone:
        return False  # arq still holds the job
    spec = registry.get(job_name(model))
    timeout = spec.timeout or getattr(ctx.get("worker"), "job_timeout_s", None) or get_config().job_timeout
    elapsed = time.monotonic() - began
    if elapsed + OVERRUN_MARGIN_S >= timeout:  # arq's clock started a little earlier, never seconds
        reason = f"TimeoutError: do_task ran {elapsed:.1f} s, past its {timeout:g} s timeout"
        _cancelled(started, reason, _status_after(model, ctx, TimeoutError()))
    else:  # a shutdown re-runs the job, whose next try overwrites this
        _cancelled(started, "CancelledError: aborted (or its worker stopped) while do_task ran", "aborted")
    return True


async def arun(model: type[TaskModel], ctx: dict[str, Any], pk: Any) -> Any:
    """The async job: one row, ``ado_task`` on the worker's loop."""
    started = await sync_to_async(start)(model, ctx, pk)
    if started is None:
        return None
    try:
        result = await started.row.ado_task()
    except asyncio.CancelledError as e:
        # A timeout, an abort or a shutdown: the row says so before the job ends (a re-run overwrites it).
        if started.job_id in getattr(ctx.get("worker"), "aborting_tasks", ()):
            status, reason = "aborted", f"{type(e).__name__}: aborted"
        else:
            status = _status_after(model, ctx, TimeoutError())
            reason = f"{type(e).__name__}: cancelled (timed out, or the worker stopped)"
        await asyncio.shield(sync_to_async(_cancelled)(started, reason, status))
        raise
    except Exception as e:
        await sync_to_async(fail)(started, e, _status_after(model, ctx, e))
        raise
    await sync_to_async(complete)(started, result)
    return result
