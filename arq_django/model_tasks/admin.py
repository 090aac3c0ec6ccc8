"""``TaskModelAdmin``: a base ``ModelAdmin`` for task models, with status columns and filters and the
bulk actions "Run selected" and "Reset selected" (one query and one Redis pipeline each).

The actions need the model's change permission, as the ``JobResult`` admin's retry and abort do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import redis
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from arq_django.exceptions import ArqDjangoError
from arq_django.model_tasks.submit import reset_rows, run_rows

if TYPE_CHECKING:
    from arq_django.model_tasks.model import TaskModel

    ModelAdmin = admin.ModelAdmin[TaskModel]
else:
    ModelAdmin = admin.ModelAdmin  # generic only in django-stubs

TASK_COLUMNS = ("status", "tries", "enqueued_at", "started_at", "finished_at", "job_id")
TASK_READONLY = (
    "status",
    "result",
    "error",
    "traceback",
    "enqueued_at",
    "started_at",
    "finished_at",
    "tries",
    "job_id",
)


class TaskModelAdmin(ModelAdmin):
    """Subclass and register it for your task model; add your own fields to ``list_display``."""

    list_display = ("__str__", *TASK_COLUMNS)
    list_filter = ("status", ("enqueued_at", admin.DateFieldListFilter))
    readonly_fields = TASK_READONLY
    search_fields = ("=job_id",)
    actions = ("run_selected", "reset_selected")

    @admin.action(description="Run selected", permissions=["change"])
    def run_selected(self, request: HttpRequest, queryset: QuerySet[TaskModel]) -> None:
        total = queryset.count()
        try:
            done = run_rows(queryset)
        except (ArqDjangoError, redis.RedisError) as e:
            self.message_user(request, str(e), messages.ERROR)
            return
        self.message_user(request, f"Enqueued {done} row(s).", messages.SUCCESS)
        if total > done:
            self.message_user(request, f"Skipped {total - done} row(s) in progress.", messages.WARNING)

    @admin.action(description="Reset selected", permissions=["change"])
    def reset_selected(self, request: HttpRequest, queryset: QuerySet[TaskModel]) -> None:
        done = reset_rows(queryset)
        self.message_user(request, f"Reset {done} row(s); run them with 'Run selected'.", messages.SUCCESS)
