"""A task model's job options, read once from its ``TaskMeta`` inner class or ``task_options`` attribute."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Literal

from django.core.exceptions import ImproperlyConfigured

from arq_django.jobs.options import Seconds

OnStuck = Literal["recover", "fail"]


@dataclass(frozen=True)
class TaskOptions:
    """How a :class:`~arq_django.models.TaskModel` subclass's rows run; the same meaning as ``@job``'s."""

    queue: str | None = None
    """The queue its jobs go to; ``None`` means ``ARQ_DJANGO['QUEUE']``."""
    timeout: Seconds | None = None
    """Seconds one try may run; ``None`` means the worker's ``JOB_TIMEOUT``."""
    max_tries: int | None = None
    retry_on: type[Exception] | tuple[type[Exception], ...] = ()
    """Exceptions from ``do_task`` that run the row again (with ``@job``'s backoff)."""
    retry_backoff: Seconds | None = None
    priority: int = 0
    keep_result: Seconds | None = None
    on_stuck: OnStuck = "recover"
    """A row left ``in_progress`` past its timeout with no live job: ``"recover"`` runs it again,
    ``"fail"`` marks it failed (django-simpletask3's ``recover`` / ``drop``)."""

    def job_options(self) -> dict[str, Any]:
        """The keyword arguments for ``@job``."""
        return {
            "queue": self.queue,
            "timeout": self.timeout,
            "max_tries": self.max_tries,
            "retry_on": self.retry_on,
            "retry_backoff": self.retry_backoff,
            "priority": self.priority,
            "keep_result": self.keep_result,
        }


_NAMES = frozenset(f.name for f in fields(TaskOptions))


def options_for(model: type[Any]) -> TaskOptions:
    """``model.task_options`` (a :class:`TaskOptions`), else its ``class TaskMeta:`` attributes."""
    given = getattr(model, "task_options", None)
    if isinstance(given, TaskOptions):
        return given
    if given is not None:
        raise ImproperlyConfigured(
            f"{model.__qualname__}.task_options must be a TaskOptions(...), got {given!r}."
        )
    meta = getattr(model, "TaskMeta", None)
    if meta is None:
        return TaskOptions()
    values = {k: v for k, v in vars(meta).items() if not k.startswith("_")}
    unknown = sorted(set(values) - _NAMES)
    if unknown:
        raise ImproperlyConfigured(
            f"{model.__qualname__}.TaskMeta: unknown options {unknown}; choose from {sorted(_NAMES)}."
        )
    if values.get("on_stuck", "recover") not in ("recover", "fail"):
        raise ImproperlyConfigured(
            f"{model.__qualname__}.TaskMeta.on_stuck must be 'recover' or 'fail', got {values['on_stuck']!r}."
        )
    return TaskOptions(**values)
