"""One import point for the Tasks contract: ``django.tasks`` on Django 6.x, else the ``django-tasks``
backport (``pip install arq-django[tasks]``) on Django 5.2. Nothing else in this package imports either."""

from __future__ import annotations

try:  # Django 6.0+
    from django.tasks import TaskContext, TaskResult, TaskResultStatus, task_backends  # type: ignore[import-not-found,attr-defined,unused-ignore]
    from django.tasks.backends.base import BaseTaskBackend  # type: ignore[import-not-found,unused-ignore]
    from django.tasks.base import DEFAULT_TASK_QUEUE_NAME as DEFAULT_QUEUE  # type: ignore[import-not-found,unused-ignore]
    from django.tasks.base import Task, TaskError  # type: ignore[import-not-found,unused-ignore]
    from django.tasks.exceptions import (  # type: ignore[import-not-found,unused-ignore]
        InvalidTask,
        TaskResultDoesNotExist,
    )
    from django.tasks.signals import (  # type: ignore[import-not-found,unused-ignore]
        task_enqueued,
        task_finished,
        task_started,
    )

    SOURCE = "django.tasks"
except ImportError:  # Django 5.2 with the backport
    try:
        from django_tasks import (  # type: ignore[no-redef,unused-ignore]
            TaskContext,
            TaskResult,
            TaskResultStatus,
            task_backends,
        )
        from django_tasks.backends.base import BaseTaskBackend  # type: ignore[no-redef,unused-ignore]
        from django_tasks.base import DEFAULT_TASK_QUEUE_NAME as DEFAULT_QUEUE  # type: ignore[no-redef,unused-ignore]
        from django_tasks.base import Task, TaskError  # type: ignore[no-redef,unused-ignore]
        from django_tasks.exceptions import (  # type: ignore[no-redef,unused-ignore]
            TaskResultDoesNotExist,
        )

        try:
            from django_tasks.exceptions import InvalidTask  # type: ignore[no-redef,unused-ignore]
        except ImportError:  # the backport's releases up to 0.12 spell it InvalidTaskError
            from django_tasks.exceptions import (  # type: ignore[no-redef,unused-ignore,attr-defined]
                InvalidTaskError as InvalidTask,
            )
        from django_tasks.signals import (  # type: ignore[no-redef,unused-ignore]
            task_enqueued,
            task_finished,
            task_started,
        )
    except ImportError as e:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(
            "arq_django.tasks needs Django's Tasks framework: Django 6.0+ ships it as django.tasks; on "
            "Django 5.2 install the backport with `pip install arq-django[tasks]` (the django-tasks package)."
        ) from e

    SOURCE = "django_tasks"

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
    "task_started",
]
