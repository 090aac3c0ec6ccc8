"""The worker side: a task is addressed by its ``module_path`` and imported on first use, so ``@task``
functions need no registration. Installed as a registry resolver when ``TASKS`` uses :class:`ArqBackend`."""

from __future__ import annotations

import re

from django.utils.module_loading import import_string

from arq_django.exceptions import TaskNotLoadable
from arq_django.jobs.registry import JobSpec
from arq_django.tasks.compat import Task
from arq_django.tasks.spec import job_spec

_DOTTED = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)+$")


def resolve_task(name: str) -> JobSpec | None:
    """The spec of the ``@task`` at ``name``; ``None`` for names that are not dotted paths; raises
    :class:`TaskNotLoadable` when the path cannot be imported or does not name a task."""
    if not _DOTTED.match(name):
        return None
    try:
        found = import_string(name)
    except ImportError as e:
        raise TaskNotLoadable(
            f"task {name!r} cannot be imported on this worker: {e}. Deploy the code that defines it to the "
            "workers (or, if it was removed, enqueue its replacement); the job is failed, not retried."
        ) from e
    if not isinstance(found, Task):
        raise TaskNotLoadable(
            f"{name!r} is a {type(found).__name__}, not a @task and not a registered @job; decorate it with "
            "@task (django.tasks) or @job (arq_django)."
        )
    return job_spec(found)
