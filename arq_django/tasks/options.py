"""arq_django's per-task options (``max_tries``, ``retry_on``, ``timeout``, ``cron``), validated like
``@job``'s.

Two spellings reach the same :class:`TaskOptions`:

- ``@task(max_tries=3, retry_on=IOError)`` where ``task()`` passes extra keywords to the backend's
  ``task_class`` (Django 6.1+ and the django-tasks backport): :class:`ArqTask` carries them;
- ``@task_options(max_tries=3)`` stacked above ``@task`` (every version, Django 6.0 included).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from django.core.exceptions import ImproperlyConfigured

from arq_django.exceptions import CronSpecError
from arq_django.jobs import crontab
from arq_django.jobs.crontab import CronSchedule
from arq_django.jobs.options import Seconds, retry_policy, seconds
from arq_django.jobs.retry import RetryPolicy
from arq_django.tasks.compat import Task

T = TypeVar("T", bound="AnyTask")

if TYPE_CHECKING:
    from arq_django.tasks.compat import AnyTask


@dataclass(frozen=True)
class TaskOptions:
    """What the worker applies around one task, beyond the contract."""

    max_tries: int | None = None
    timeout: float | None = None
    retry: RetryPolicy | None = None
    cron: CronSchedule | None = None


NONE = TaskOptions()
_stacked: dict[str, TaskOptions] = {}


def build(
    name: str,
    func: Callable[..., Any],
    *,
    max_tries: int | None = None,
    retry_on: type[Exception] | tuple[type[Exception], ...] = (),
    timeout: Seconds | None = None,
    cron: str | Mapping[str, Any] | None = None,
) -> TaskOptions:
    """Validate the options of task ``name``; ``ImproperlyConfigured`` names the task and the fix."""
    if max_tries is not None and (
        isinstance(max_tries, bool) or not isinstance(max_tries, int) or max_tries < 1
    ):
        raise ImproperlyConfigured(
            f"task {name!r}: max_tries= must be a whole number >= 1, got {max_tries!r}."
        )
    schedule = None
    if cron is not None:
        try:
            schedule = crontab.parse(cron)
        except CronSpecError as e:
            raise ImproperlyConfigured(f"task {name!r}: cron={cron!r} is invalid: {e}.") from e
    return TaskOptions(
        max_tries=max_tries,
        timeout=seconds(name, "timeout", timeout),
        retry=retry_policy(name, {"retry_on": retry_on}),
        cron=schedule,
    )


def task_options(
    *,
    max_tries: int | None = None,
    retry_on: type[Exception] | tuple[type[Exception], ...] = (),
    timeout: Seconds | None = None,
    cron: str | Mapping[str, Any] | None = None,
) -> Callable[[T], T]:
    """Give a ``@task`` arq_django's options; stack it above ``@task`` (``@task_options(...)`` first).

    The worker reads them when it imports the task's module, so no registration is needed.
    """

    def decorate(task: T) -> T:
        if not isinstance(task, Task):
            raise ImproperlyConfigured(
                f"@task_options on {task!r}: put it above @task, so it receives the Task @task made."
            )
        path = task.module_path
        _stacked[path] = build(
            path, task.func, max_tries=max_tries, retry_on=retry_on, timeout=timeout, cron=cron
        )
        if cron is not None:
            register_cron(task)
        return task

    return decorate


def options_for(task: AnyTask) -> TaskOptions:
    """The options of ``task``: its :class:`ArqTask` fields, else a stacked ``@task_options``."""
    own = getattr(task, "arq_options", None)
    if isinstance(own, TaskOptions) and own is not NONE:
        return own
    return _stacked.get(task.module_path, NONE)


@dataclass(frozen=True, slots=True, kw_only=True)
class ArqTask(Task):  # type: ignore[misc,type-arg]
    """The backend's ``task_class``: a ``Task`` that also accepts arq_django's options as keywords."""

    max_tries: int | None = None
    retry_on: type[Exception] | tuple[type[Exception], ...] = ()
    timeout: float | int | None = None
    cron: str | None = None

    def __post_init__(self) -> None:
        Task.__post_init__(self)  # slots=True makes a new class: zero-argument super() cannot find it
        self.arq_options  # noqa: B018  (bad options fail at @task, naming the task, like @job's)
        if self.cron is not None:
            register_cron(self)

    @property
    def arq_options(self) -> TaskOptions:
        if self.max_tries is None and not self.retry_on and self.timeout is None and self.cron is None:
            return NONE
        return build(
            self.module_path,
            self.func,
            max_tries=self.max_tries,
            retry_on=self.retry_on,
            timeout=self.timeout,
            cron=self.cron,
        )


def register_cron(task: AnyTask) -> None:
    """Workers schedule cron jobs from the registry at start-up, so a cron task is registered when its
    module is imported (list that module in ``ARQ_DJANGO['JOB_MODULES']``, e.g. ``["jobs", "tasks"]``)."""
    from arq_django.jobs.registry import registry
    from arq_django.tasks.spec import job_spec

    registry.add(job_spec(task))
