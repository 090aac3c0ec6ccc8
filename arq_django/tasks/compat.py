"""One import point for the Tasks contract: ``django.tasks`` on Django 6.x, else the ``django-tasks``
backport (``pip install arq-django[tasks]``) on Django 5.2. Nothing else in this package imports either.

The type checker reads Django's own (django-stubs) names; at run time whichever is installed is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    from django.tasks import TaskContext, TaskResult, TaskResultStatus, task_backends
    from django.tasks import signals as task_signals
    from django.tasks.backends.base import BaseTaskBackend
    from django.tasks.base import DEFAULT_TASK_QUEUE_NAME as DEFAULT_QUEUE
    from django.tasks.base import Task, TaskError
    from django.tasks.exceptions import InvalidTask, TaskResultDoesNotExist
    from django.tasks.signals import task_enqueued, task_finished, task_started

    AnyTask: TypeAlias = Task[Any, Any]
    AnyResult: TypeAlias = TaskResult[Any, Any]
else:
    try:  # Django 6.0+
        from django.tasks import TaskContext, TaskResult, TaskResultStatus, task_backends
        from django.tasks import signals as task_signals
        from django.tasks.backends.base import BaseTaskBackend
        from django.tasks.base import DEFAULT_TASK_QUEUE_NAME as DEFAULT_QUEUE
        from django.tasks.base import Task, TaskError
        from django.tasks.exceptions import InvalidTask, TaskResultDoesNotExist
        from django.tasks.signals import task_enqueued, task_finished, task_started

        SOURCE = "django.tasks"
    except ImportError:  # Django 5.2 with the backport
        try:
            from django_tasks import TaskContext, TaskResult, TaskResultStatus, task_backends
            from django_tasks import signals as task_signals
            from django_tasks.backends.base import BaseTaskBackend
            from django_tasks.base import DEFAULT_TASK_QUEUE_NAME as DEFAULT_QUEUE
            from django_tasks.base import Task, TaskError
            from django_tasks.exceptions import TaskResultDoesNotExist
            from django_tasks.signals import task_enqueued, task_finished, task_started

            try:
                from django_tasks.exceptions import InvalidTask
            except ImportError:  # the backport's releases up to 0.12 spell it InvalidTaskError
                from django_tasks.exceptions import InvalidTaskError as InvalidTask
        except ImportError as e:
            from django.core.exceptions import ImproperlyConfigured

            raise ImproperlyConfigured(
                "arq_django.tasks needs Django's Tasks framework: Django 6.0+ ships it as django.tasks; "
                "on Django 5.2 install the backport: pip install 'arq-django[tasks]' (django-tasks)."
            ) from e

        SOURCE = "django_tasks"

SOURCE: str
"""Which framework is in use: ``"django.tasks"`` or ``"django_tasks"``."""

__all__ = [
    "DEFAULT_QUEUE",
    "SOURCE",
    "BaseTaskBackend",
    "InvalidTask",
    "Task",
    "TaskContext",
    "TaskError",
    "TaskResult",
    "TaskResultDoesNotExist",
    "TaskResultStatus",
    "task_backends",
    "task_enqueued",
    "task_finished",
    "task_signals",
    "task_started",
]
