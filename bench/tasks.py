"""The benchmark's Django task: the same no-op as ``bench_noop``, through Django's Tasks framework
(``TASKS`` → ``arq_django.tasks.ArqBackend``), so ``task.enqueue()`` can be set against ``enqueue()``."""

from __future__ import annotations

from typing import Any

try:
    from django.tasks import task  # type: ignore[attr-defined,unused-ignore]
except ImportError:  # Django 5.2: the django-tasks backport
    from django_tasks import task  # type: ignore[no-redef,unused-ignore]


@task
def bench_task(i: int) -> None:
    """Nothing: the row measures the enqueue path only."""


def enqueue_all(n: int) -> Any:
    """``bench_task.enqueue(i)`` for ``i`` in ``range(n)``."""
    for i in range(n):
        bench_task.enqueue(i)
