"""``TaskModel``: an abstract model whose rows are jobs (django-simpletask3's ``SimpleTask``, on arq).

Creating a row enqueues its job when the transaction commits, so the worker always finds the row; the
worker (:mod:`.handler`) calls ``do_task()`` / ``ado_task()`` and writes the outcome back on the row.
Each concrete subclass registers one job, ``<app_label>.<Model>.do_task``, when Django prepares it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from asgiref.sync import sync_to_async
from django.db import models, router
from django.db.models.signals import class_prepared
from django.utils import timezone

from arq_django.client.handle import JobState
from arq_django.model_tasks import submit

if TYPE_CHECKING:
    from arq_django.client.handle import JobHandle
    from arq_django.model_tasks.options import TaskOptions

STATUSES = (
    JobState.queued,
    JobState.deferred,
    JobState.in_progress,
    JobState.retrying,
    JobState.complete,
    JobState.failed,
    JobState.aborted,
)
"""A row's statuses are the result mirror's (``JobResult.Status``, in its order). They are built from
``JobState``: this module does not import ``arq_django.models``, which exports ``TaskModel``."""
STATUS_CHOICES = [(s.value, s.name.replace("_", " ").title()) for s in STATUSES]

_M = TypeVar("_M", bound="TaskModel")


class TaskQuerySet(models.QuerySet[_M]):
    """``bulk_create`` enqueues the new rows in one pipeline; ``run()`` / ``reset()`` act in bulk."""

    def bulk_create(self, objs: Iterable[_M], *args: Any, **kwargs: Any) -> list[_M]:
        """Insert the rows and enqueue one job per row at commit (Redis: one pipeline).

        The rows' primary keys must come back from the insert (PostgreSQL, SQLite 3.35+, MariaDB
        10.5+); ``ignore_conflicts=True`` is refused, since a skipped row would still be enqueued.
        """
        if kwargs.get("ignore_conflicts") or kwargs.get("update_conflicts"):
            raise ValueError(
                f"{self.model._meta.label}.objects.bulk_create: ignore_conflicts/update_conflicts would "
                "enqueue rows that were not inserted; insert them without, or call save() per row."
            )
        rows = list(objs)
        now = timezone.now()
        for row in rows:
            row._prepare_job(now)
        created = super().bulk_create(rows, *args, **kwargs)
        missing = [row for row in created if row.pk is None]
        if missing:
            raise ValueError(
                f"{self.model._meta.label}.objects.bulk_create: the database returned no primary keys, "
                "so the rows cannot be enqueued; save them one by one (row.save())."
            )
        submit.enqueue_on_commit(self.model, [(row.pk, row.job_id) for row in created], self.db)
        return created

    def run(self) -> int:
        """Run the selected rows again as new jobs (rows in progress are skipped); returns how many."""
        return submit.run_rows(self)

    def reset(self) -> int:
        """Put the selected rows back as never run, without enqueueing them; returns how many."""
        return submit.reset_rows(self)


TaskManager = models.Manager.from_queryset(TaskQuerySet)


class TaskModel(models.Model):
    """Subclass it, add your fields and implement ``do_task(self)`` (or ``async def ado_task(self)``).

    Options go on an inner ``class TaskMeta:`` (``queue``, ``timeout``, ``max_tries``, ``retry_on``,
    ``retry_backoff``, ``priority``, ``keep_result``, ``on_stuck``) or a ``task_options = TaskOptions(...)``
    attribute. The return value lands in ``result`` (JSON), an exception in ``error`` and ``traceback``,
    and fields the task set on ``self`` are saved with them. While it runs, ``self.ctx`` is the job's
    ``ctx`` (``self.ctx["progress"](0.5)``; ``await`` it in ``ado_task``).
    """

    status = models.CharField(
        max_length=16, choices=STATUS_CHOICES, default=JobState.queued.value, db_index=True
    )
    result = models.JSONField(null=True, blank=True, help_text="What do_task() returned.")
    error = models.TextField(blank=True, help_text="Exception type and message of the last failed try.")
    traceback = models.TextField(blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    tries = models.PositiveIntegerField(default=0)
    job_id = models.CharField(max_length=255, blank=True, db_index=True, help_text="The row's current job.")

    objects = TaskManager()

    task_options: ClassVar[TaskOptions | None] = None
    ctx: dict[str, Any] | None = None
    """The running job's ``ctx`` (set by the worker for the duration of ``do_task``)."""

    class Meta:
        abstract = True

    def do_task(self) -> Any:
        """The work, run by a worker; its return value must be JSON data."""
        raise NotImplementedError(
            f"{type(self).__qualname__} is a TaskModel without do_task(): define do_task(self) or "
            "async def ado_task(self)."
        )

    async def ado_task(self) -> Any:
        """Async work; a subclass defines this or :meth:`do_task`."""
        raise NotImplementedError(f"{type(self).__qualname__}.ado_task is not defined")

    def _prepare_job(self, now: Any) -> None:
        self.job_id = submit.new_job_id()
        self.status = JobState.queued.value
        self.enqueued_at = now

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Saving a new row enqueues its job at commit; saving an existing row does not (see :meth:`run`)."""
        creating = self._state.adding and not kwargs.get("update_fields")
        if creating:
            self._prepare_job(timezone.now())
        super().save(*args, **kwargs)
        if creating:
            using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
            submit.enqueue_on_commit(type(self), [(self.pk, self.job_id)], using)

    def run(self) -> None:
        """Run this row again as a new job, at commit (its outcome fields are cleared now)."""
        submit.run_rows(type(self)._base_manager.filter(pk=self.pk))
        self.refresh_from_db()

    async def arun(self) -> None:
        """Async twin of :meth:`run`."""
        await sync_to_async(self.run)()

    def job(self) -> JobHandle | None:
        """A handle to the row's current job (state, result, abort), or ``None`` before it has one."""
        from arq_django.client.handle import JobHandle

        if not self.job_id:
            return None
        return JobHandle(self.job_id, submit.plan_queue(type(self)), submit.job_name(type(self)))

    def job_result(self) -> models.Model | None:
        """The mirror's ``JobResult`` row for the current job, if the mirror has one (typed loosely:
        naming ``JobResult`` here would make ``arq_django.models`` and this module import each other)."""
        from arq_django.models import JobResult

        return JobResult.objects.filter(job_id=self.job_id).first() if self.job_id else None


def _register(sender: type[models.Model], **kwargs: Any) -> None:
    if issubclass(sender, TaskModel) and not sender._meta.abstract and not sender._meta.proxy:
        from arq_django.model_tasks.handler import register

        register(sender)


class_prepared.connect(_register, dispatch_uid="arq_django.model_tasks.register")
