"""Putting task rows on the queue: one job per row, written when the row's transaction commits.

A row's job id is chosen before the row is saved (``job_id``), so creating a row costs no extra write;
the jobs of many rows (``bulk_create``, the admin's "Run selected", recovery) go to Redis in one
pipeline and their ``JobResult`` rows to the database in one insert.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any, Final

import redis
from django.db import models, transaction
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from arq_django.client.enqueue import _queue_commands
from arq_django.client.plan import JobPlan, plan_job
from arq_django.client.wire import timestamp_ms
from arq_django.client.write import write as write_plan
from arq_django.conf import get_config
from arq_django.connection import redis_failure, server_for, sync_client
from arq_django.exceptions import EnqueueError, EnqueueNotConfirmed
from arq_django.keys import abort_jobs_ss

logger = logging.getLogger("arq_django.model_tasks")
NEVER_RUN: Final[dict[str, Any]] = {
    "status": "queued",
    "started_at": None,
    "finished_at": None,
    "tries": 0,
    "result": None,
    "error": "",
    "traceback": "",
}
"""The outcome fields of a row that has not run (yet, or again)."""


def job_name(model: type[models.Model]) -> str:
    """The registered job that runs ``model``'s rows: ``<app_label>.<Model>.do_task``."""
    return f"{model._meta.label}.do_task"


def new_job_id() -> str:
    return uuid.uuid4().hex


def plan_for(model: type[models.Model], pk: Any, job_id: str) -> JobPlan:
    # The id is a fresh uuid: it cannot be taken, so the write needs no WATCH guard (as enqueue()'s own ids).
    return replace(plan_job(job_name(model), (pk,), {}, job_id=job_id), guarded=False)


def write(model: type[models.Model], jobs: Sequence[tuple[Any, JobPlan]]) -> None:
    """Write the rows' jobs (``(pk, plan)``) to Redis, one ``EVALSHA`` for one row and one pipeline for
    many, and hand their mirror rows to the enqueue-time buffer."""
    plans = [plan for _, plan in jobs]
    if not plans:
        return
    queue = plans[0].queue_name  # one model, one queue: its server holds every row's job
    try:
        if len(plans) == 1:
            write_plan(plans[0])
        else:
            with sync_client(queue=queue).pipeline(transaction=False) as pipe:
                for plan in plans:
                    _queue_commands(pipe, plan)
                pipe.execute()
    except EnqueueNotConfirmed:
        raise  # written, but fewer replicas than ENQUEUE_WAIT_REPLICAS confirmed it: the caller decides
    except (redis.RedisError, EnqueueError) as e:
        # write_plan's EnqueueError wraps the Redis error: say it once, with the rows' own advice.
        cause = e.__cause__ if isinstance(e, EnqueueError) else e
        reason = (
            redis_failure(cause, server=server_for(queue)) if isinstance(cause, redis.RedisError) else str(e)
        )
        raise EnqueueError(
            f"could not enqueue {len(plans)} {model._meta.label} row(s) (job {plans[0].function!r}) on "
            f"queue {queue!r}: {reason}. The rows are saved with status "
            "'queued'; run them again with the admin's 'Run selected' or Model.objects.filter(...).run() "
            "once Redis answers."
        ) from e
    _record(jobs)


def _record(jobs: Sequence[tuple[Any, JobPlan]]) -> None:
    config = get_config()
    if not (config.mirror and config.mirror_on_enqueue):
        return
    from arq_django.mirror.enqueued import record_enqueued

    for pk, plan in jobs:  # at commit, outside any transaction: buffered, written in batches (never raises)
        record_enqueued(plan, (pk,), {})


def enqueue_on_commit(model: type[models.Model], rows: Iterable[tuple[Any, str]], using: str) -> None:
    """Plan a job for each ``(pk, job_id)`` now (bad options fail here) and write them at commit."""
    jobs = [(pk, plan_for(model, pk, job_id)) for pk, job_id in rows]

    def at_commit() -> None:
        now_ms = timestamp_ms()
        write(model, [(pk, plan.rebased(now_ms)) for pk, plan in jobs])

    transaction.on_commit(at_commit, using=using)


def run_rows(queryset: models.QuerySet[Any], *, skip_in_progress: bool = True) -> int:
    """Run the rows again as new jobs: one SELECT, one UPDATE, one pipeline; rows in progress are
    skipped (recovery, which checked that their jobs are gone, passes ``skip_in_progress=False``).

    Each row gets the job id ``<batch>-<pk>``; a job the row had before no longer matches its ``job_id``,
    so if it still runs it ends as a no-op.
    """
    model = queryset.model
    rows = queryset.exclude(status="in_progress") if skip_in_progress else queryset
    pks = list(rows.values_list("pk", flat=True))
    if not pks:
        return 0
    batch = new_job_id()[:20]
    with transaction.atomic(using=queryset.db):
        model._base_manager.using(queryset.db).filter(pk__in=pks).update(
            job_id=Concat(models.Value(f"{batch}-"), Cast("pk", models.CharField())),
            enqueued_at=timezone.now(),
            **NEVER_RUN,
        )
        enqueue_on_commit(model, [(pk, f"{batch}-{pk}") for pk in pks], queryset.db)
    return len(pks)


def reset_rows(queryset: models.QuerySet[Any]) -> int:
    """Put rows back as never run (not enqueued): one UPDATE, and one pipeline asking their jobs to abort."""
    model = queryset.model
    old = list(queryset.exclude(job_id="").values_list("job_id", flat=True))
    count = queryset.update(job_id="", enqueued_at=None, **NEVER_RUN)
    if old:
        try:
            now_ms = timestamp_ms()
            sync_client(queue=plan_queue(model)).zadd(abort_jobs_ss, dict.fromkeys(old, now_ms))
        except redis.RedisError as e:
            # The rows no longer name those jobs, so any that still run end as no-ops.
            logger.warning(
                "reset %d %s rows; could not ask their jobs to abort: %s", count, model._meta.label, e
            )
    return count


def plan_queue(model: type[models.Model]) -> str:
    """The queue ``model``'s jobs run on."""
    from arq_django.jobs.registry import registry

    return registry.get(job_name(model)).queue_name()
