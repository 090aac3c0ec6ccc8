"""A cron task, imported only by its test (its ticks would otherwise run in every mail worker)."""

from __future__ import annotations

from arq_django.tasks import task_options

try:
    from django.tasks import task  # type: ignore[attr-defined,unused-ignore]
except ImportError:
    from django_tasks import task  # type: ignore[no-redef,unused-ignore]


@task_options(cron={"second": set(range(60))})
@task(queue_name="mail")
def tick() -> str:
    return "tick"
