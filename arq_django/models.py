"""``JobResult``: one row per job, mirrored from what producers and workers report (the result mirror).

Rows are written in batches by the worker (:mod:`arq_django.mirror`) and created by ``enqueue()``;
Redis stays the source of truth, so a row can lag behind its job for a flush interval (or an outage).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final

from django.db import models
from django.utils import timezone


class JobResultQuerySet(models.QuerySet["JobResult"]):
    """Named filters for the questions people ask of their jobs."""

    def failed(self) -> JobResultQuerySet:
        return self.filter(status=JobResult.Status.FAILED)

    def finished(self) -> JobResultQuerySet:
        """Complete, failed or aborted: rows that will not change again."""
        return self.filter(status__in=JobResult.FINISHED)

    def unfinished(self) -> JobResultQuerySet:
        return self.exclude(status__in=JobResult.FINISHED)

    def for_function(self, name: str) -> JobResultQuerySet:
        return self.filter(function=name)

    def older_than(self, age: timedelta) -> JobResultQuerySet:
        """Rows whose job finished (or, if it has not finished, was enqueued) more than ``age`` ago."""
        cutoff = timezone.now() - age
        return self.filter(
            models.Q(finished_at__lt=cutoff) | models.Q(finished_at__isnull=True, enqueued_at__lt=cutoff)
        )


class JobResult(models.Model):
    """The life of one job: what ran, where, how it ended, and its progress while running."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        DEFERRED = "deferred"
        IN_PROGRESS = "in_progress"
        RETRYING = "retrying"
        """A try ended with ``Retry`` (or a worker shutdown); the job will run again."""
        COMPLETE = "complete"
        FAILED = "failed"
        ABORTED = "aborted"

    FINISHED: Final = (Status.COMPLETE, Status.FAILED, Status.ABORTED)

    job_id = models.CharField(max_length=255, unique=True)
    function = models.CharField(max_length=255)
    queue_name = models.CharField(max_length=255)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    rank = models.PositiveIntegerField(
        default=0,
        editable=False,
        help_text="Orders writes so that a row never goes backwards (see rank()).",
    )
    args = models.JSONField(null=True, blank=True, help_text="Positional arguments (tagged JSON).")
    kwargs = models.JSONField(null=True, blank=True, help_text="Keyword arguments (tagged JSON).")
    result = models.JSONField(null=True, blank=True, help_text="Return value of a complete job.")
    error = models.TextField(blank=True, help_text="Exception type and message of the last failed try.")
    traceback = models.TextField(blank=True)
    tries = models.PositiveIntegerField(default=0)
    max_tries = models.PositiveIntegerField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    scheduled_for = models.DateTimeField(
        null=True, blank=True, help_text="When a deferred or retrying job is due to run."
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=255, blank=True, help_text="host:pid of the last worker.")
    progress = models.FloatField(null=True, blank=True, help_text="0.0 to 1.0, as the job reported it.")
    progress_message = models.TextField(blank=True)
    retry_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="retries",
        help_text="The row this job was re-enqueued from (admin's retry action).",
    )

    objects = JobResultQuerySet.as_manager()

    class Meta:
        ordering = ["-enqueued_at"]
        indexes = [
            models.Index(fields=["status", "enqueued_at"], name="arq_jobresult_status_time"),
            models.Index(fields=["function", "enqueued_at"], name="arq_jobresult_function_time"),
            models.Index(fields=["enqueued_at"], name="arq_jobresult_enqueued"),
            models.Index(fields=["finished_at"], name="arq_jobresult_finished"),
            # The dashboard's windows (arq_django.dashboard.mirror): failures and durations by status,
            # throughput by finish time with what it counts, so neither reads the table.
            models.Index(fields=["status", "finished_at"], name="arq_jobresult_status_finished"),
            models.Index(fields=["finished_at", "status", "tries"], name="arq_jobresult_finished_cover"),
        ]

    def __str__(self) -> str:
        return f"{self.function} {self.job_id} ({self.status})"

    @property
    def duration(self) -> timedelta | None:
        """Run time of the last try, for finished rows."""
        if self.status in self.FINISHED and self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None


TERMINAL_RANK: Final = 2**31 - 1
"""A finished row's rank: nothing ranks above it, so no late write can reopen it."""
_PHASE: Final[dict[str, int]] = {
    JobResult.Status.QUEUED: 0,
    JobResult.Status.DEFERRED: 0,
    JobResult.Status.IN_PROGRESS: 1,
    JobResult.Status.RETRYING: 2,
}


def rank(status: str, tries: int) -> int:
    """Where a write stands in a job's life. A write applies only if its rank is at least the row's:
    a try's ``in_progress`` < its ``retrying`` < the next try's ``in_progress`` < any finished state."""
    if status in JobResult.FINISHED:
        return TERMINAL_RANK
    return min(max(tries, 0), 100_000_000) * 4 + _PHASE[status]


TASK_RESULT_STATUS: Final[dict[str, str]] = {
    JobResult.Status.QUEUED: "READY",
    JobResult.Status.DEFERRED: "READY",
    JobResult.Status.IN_PROGRESS: "RUNNING",
    JobResult.Status.RETRYING: "RUNNING",
    JobResult.Status.COMPLETE: "SUCCESSFUL",
    JobResult.Status.FAILED: "FAILED",
    JobResult.Status.ABORTED: "FAILED",
}
"""``JobResult.Status`` → ``django.tasks.TaskResultStatus`` names, for a Django Tasks backend."""


class JobsDashboard(JobResult):
    """No data of its own: the admin index's "Jobs dashboard" entry (:mod:`arq_django.dashboard`)."""

    class Meta:
        proxy = True
        verbose_name = verbose_name_plural = "jobs dashboard"
        default_permissions = ()


if TYPE_CHECKING:
    from arq_django.model_tasks.model import TaskModel as TaskModel


def __getattr__(name: str) -> Any:
    # TaskModel (abstract: no migration here) is loaded on first use, so that either module can be
    # imported first (an app listed before arq_django may import either).
    if name == "TaskModel":
        from arq_django.model_tasks.model import TaskModel

        return TaskModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
