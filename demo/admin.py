from django.contrib import admin

from arq_django.model_tasks.admin import TaskModelAdmin

from .models import Export


@admin.register(Export)
class ExportAdmin(TaskModelAdmin):
    list_display = ("__str__", "requested_by", "rows", "status", "tries", "enqueued_at", "finished_at")
