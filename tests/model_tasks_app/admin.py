from django.contrib import admin

from arq_django.model_tasks.admin import TaskModelAdmin

from .models import Export


@admin.register(Export)
class ExportAdmin(TaskModelAdmin):
    list_display = ("name", *TaskModelAdmin.list_display[1:])
