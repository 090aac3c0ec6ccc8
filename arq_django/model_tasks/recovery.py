"""Recovery of rows stuck ``in_progress``: their worker died (SIGKILL, OOM, a lost host) on the try
that would have written the outcome, so nothing else will.

Workers of a queue that task models run on get the cron job :data:`CRON_NAME`, every minute and unique
(one worker runs each tick). A row is stuck when it has been ``in_progress`` longer than its model's
timeout plus :data:`GRACE_S` and its job is not alive: neither queued (``arq:job:<id>``, which a
re-run of a killed try still has) nor held by a worker (``arq:in-progress:<id>``). Stuck rows are run
again or marked failed, as the model's ``on_stuck`` says.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final

from asgiref.sync import sync_to_async
from django.apps import apps
from django.utils import timezone

from arq_django.conf import get_config
from arq_django.connection import sync_client
from arq_django.keys import in_progress_key_prefix, job_key_prefix
from arq_django.model_tasks.options import options_for
from arq_django.model_tasks.submit import plan_queue, run_rows

if TYPE_CHECKING:
    from arq.cron import CronJob

logger = logging.getLogger("arq_django.model_tasks")

CRON_NAME: Final = "arq_django.recover_task_rows"
GRACE_S: Final = 10.0
"""Beyond the timeout: arq's in-progress key outlives a try by its timeout plus 10 s."""
LOST_ERROR: Final = "WorkerLost: the worker running this row stopped without writing its outcome"


def task_models(queue: str | None = None) -> list[type[Any]]:
    """Concrete task models (whose jobs run on ``queue``, if given)."""
    from arq_django.model_tasks.model import TaskModel

    found = [m for m in apps.get_models() if issubclass(m, TaskModel) and not m._meta.proxy]
    return [m for m in found if queue is None or plan_queue(m) == queue]


def _alive(job_ids: list[str], queue: str) -> set[str]:
    if not job_ids:
        return set()
    with sync_client(queue=queue).pipeline(transaction=False) as pipe:
        for job_id in job_ids:
            pipe.exists(job_key_prefix + job_id, in_progress_key_prefix + job_id)
        counts = pipe.execute()
    return {job_id for job_id, n in zip(job_ids, counts, strict=True) if n}


def recover(model: type[Any]) -> int:
    """Run again or fail ``model``'s stuck rows (see the module docstring); returns how many."""
    options = options_for(model)
    timeout = float(get_config().job_timeout if options.timeout is None else _seconds(options.timeout))
    cutoff = timezone.now() - timedelta(seconds=timeout + GRACE_S)
    candidates = list(
        model._base_manager.filter(status="in_progress", started_at__lt=cutoff).values_list("pk", "job_id")
    )
    alive = _alive([job_id for _, job_id in candidates], plan_queue(model))
    stuck = [pk for pk, job_id in candidates if job_id not in alive]
    if not stuck:
        return 0
    rows = model._base_manager.filter(pk__in=stuck, status="in_progress")
    if options.on_stuck == "fail":
        count = int(rows.update(status="failed", error=LOST_ERROR, finished_at=timezone.now()))
    else:
        count = run_rows(rows, skip_in_progress=False)
    logger.warning("%s: %d rows stuck in progress %s", model._meta.label, count, options.on_stuck + "ed")
    return count


def _seconds(value: Any) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def recover_all(queue: str | None = None) -> int:
    return sum(recover(model) for model in task_models(queue))


async def recover_task_rows(ctx: dict[str, Any]) -> int:
    """The cron job: recover the stuck rows of the task models on this worker's queue."""
    queue = getattr(ctx.get("worker"), "queue_name", None)
    return int(await sync_to_async(recover_all)(queue))


def cron_jobs(queue: str) -> list[CronJob]:
    """The recovery cron job for a worker of ``queue``, if any task model runs there."""
    if not task_models(queue):
        return []
    from arq.cron import cron  # the worker's side only (arq-django[worker])

    return [cron(recover_task_rows, name=CRON_NAME, unique=True, timeout=300, second=31)]
