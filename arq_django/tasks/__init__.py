"""A backend for Django's Tasks framework (``django.tasks`` on Django 6, the django-tasks backport on
5.2): ``TASKS = {"default": {"BACKEND": "arq_django.tasks.ArqBackend"}}`` runs ``@task`` functions on
arq_django workers, next to ``@job`` handlers.

The names load lazily: ``arq_django`` starts (and ``arq_django.tasks.setup`` runs) in projects without
the tasks framework installed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from arq_django.tasks.backend import ArqBackend
    from arq_django.tasks.options import ArqTask, TaskOptions, task_options

__all__ = ["ArqBackend", "ArqTask", "TaskOptions", "task_options"]


def __getattr__(name: str) -> Any:
    if name == "ArqBackend":
        from arq_django.tasks.backend import ArqBackend

        return ArqBackend
    if name in ("ArqTask", "TaskOptions", "task_options"):
        from arq_django.tasks import options

        return getattr(options, name)
    raise AttributeError(f"module 'arq_django.tasks' has no attribute {name!r}")
