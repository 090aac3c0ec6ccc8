"""The jobs in Django's admin: read-only rows, with retry, abort and delete actions.

Rows are written by producers and workers, never edited here: the change page is a read-only view
(a POST to it is refused), and the actions need the model's change permission (delete: Django's
delete permission, as usual).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import redis
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString

from arq_django.dashboard.admin import JobsDashboardAdmin
from arq_django.exceptions import ArqDjangoError
from arq_django.mirror.retention import forget_results
from arq_django.models import JobResult, JobsDashboard
from arq_django.ops.actions import ABORTABLE, RETRYABLE, abort_rows, retry_row


def _pretty(value: Any) -> SafeString | str:
    if value is None:
        return "-"
    text = json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)
    return format_html('<pre style="white-space: pre-wrap; margin: 0">{}</pre>', text)


if TYPE_CHECKING:
    ModelAdmin = admin.ModelAdmin[JobResult]
else:
    ModelAdmin = admin.ModelAdmin  # generic only in django-stubs


@admin.register(JobResult)
class JobResultAdmin(ModelAdmin):
    list_display = (
        "job_id",
        "function",
        "queue_name",
        "status",
        "tries",
        "enqueued_at",
        "started_at",
        "finished_at",
        "duration_display",
        "progress_bar",
    )
    list_filter = ("status", "function", "queue_name", ("enqueued_at", admin.DateFieldListFilter))
    search_fields = ("=job_id", "^function")
    ordering = ("-enqueued_at",)
    show_full_result_count = False  # no COUNT(*) over a big table on every search
    change_list_template = "arq_django/dashboard/jobresult_change_list.html"  # links the dashboard
    actions = ("retry_jobs", "abort_jobs")
    readonly_fields = (
        "job_id",
        "function",
        "queue_name",
        "status",
        "tries",
        "max_tries",
        "worker",
        "enqueued_at",
        "scheduled_for",
        "started_at",
        "finished_at",
        "duration_display",
        "progress_bar",
        "progress_message",
        "retry_of",
        "args_display",
        "kwargs_display",
        "result_display",
        "error",
        "traceback_display",
    )
    fieldsets = (
        (None, {"fields": ("job_id", "function", "queue_name", "status", "tries", "max_tries", "worker")}),
        (
            "Timing",
            {"fields": ("enqueued_at", "scheduled_for", "started_at", "finished_at", "duration_display")},
        ),
        ("Progress", {"fields": ("progress_bar", "progress_message")}),
        ("Call", {"fields": ("args_display", "kwargs_display", "retry_of")}),
        ("Outcome", {"fields": ("result_display", "error", "traceback_display")}),
    )

    # -- permissions: a read-only change page; the changelist's actions need "change" ---------------
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: JobResult | None = None) -> bool:
        # With obj (the change page) this is False, so Django shows a read-only view and refuses POSTs;
        # without obj it is the model's change permission, which the retry/abort actions require.
        return obj is None and super().has_change_permission(request)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[JobResult]) -> None:
        job_ids = list(queryset.values_list("job_id", flat=True))
        super().delete_queryset(request, queryset)
        forget_results(job_ids)

    def delete_model(self, request: HttpRequest, obj: JobResult) -> None:
        job_id = obj.job_id
        super().delete_model(request, obj)
        forget_results([job_id])

    # -- columns ------------------------------------------------------------------------------------
    @admin.display(description="duration")
    def duration_display(self, obj: JobResult) -> str:
        duration = obj.duration
        return "-" if duration is None else f"{duration.total_seconds():.3f} s"

    @admin.display(description="progress")
    def progress_bar(self, obj: JobResult) -> SafeString | str:
        if obj.progress is None or obj.status not in (
            JobResult.Status.IN_PROGRESS,
            JobResult.Status.RETRYING,
        ):
            return "-"
        return format_html(
            '<progress value="{}" max="1" title="{}"></progress> {}%',
            f"{obj.progress:.3f}",
            obj.progress_message,
            round(obj.progress * 100),
        )

    @admin.display(description="args")
    def args_display(self, obj: JobResult) -> SafeString | str:
        return _pretty(obj.args)

    @admin.display(description="kwargs")
    def kwargs_display(self, obj: JobResult) -> SafeString | str:
        return _pretty(obj.kwargs)

    @admin.display(description="result")
    def result_display(self, obj: JobResult) -> SafeString | str:
        return _pretty(obj.result)

    @admin.display(description="traceback")
    def traceback_display(self, obj: JobResult) -> SafeString | str:
        if not obj.traceback:
            return "-"
        return format_html('<pre style="white-space: pre-wrap; margin: 0">{}</pre>', obj.traceback)

    # -- actions ------------------------------------------------------------------------------------
    @admin.action(description="Retry selected jobs (as new jobs)", permissions=["change"])
    def retry_jobs(self, request: HttpRequest, queryset: QuerySet[JobResult]) -> None:
        done = 0
        for row in queryset.filter(status__in=RETRYABLE):
            try:
                retry_row(row)
            except ArqDjangoError as e:
                self.message_user(request, str(e), messages.ERROR)
            else:
                done += 1
        skipped = queryset.exclude(status__in=RETRYABLE).count()
        if done:
            self.message_user(request, f"Re-enqueued {done} job(s).", messages.SUCCESS)
        if skipped:
            self.message_user(
                request,
                f"Skipped {skipped} unfinished job(s): only finished jobs can be retried.",
                messages.WARNING,
            )

    @admin.action(description="Abort selected jobs", permissions=["change"])
    def abort_jobs(self, request: HttpRequest, queryset: QuerySet[JobResult]) -> None:
        candidates = list(queryset.filter(status__in=ABORTABLE))
        try:
            asked = abort_rows(candidates)
        except (ArqDjangoError, redis.RedisError) as e:
            self.message_user(request, str(e), messages.ERROR)
            return
        self.message_user(
            request,
            f"Abort requested for {asked} job(s); their rows turn 'aborted' when a worker stops them.",
            messages.SUCCESS,
        )
        if len(candidates) > asked:
            self.message_user(
                request,
                f"{len(candidates) - asked} job(s) were no longer queued or running.",
                messages.WARNING,
            )


admin.site.register(JobsDashboard, JobsDashboardAdmin)
