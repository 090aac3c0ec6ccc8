"""How a Django ``Task`` becomes an arq_django job: its name is the task's ``module_path``, its queue is
mapped from the task's ``queue_name``, and its handler calls the task function (with a ``TaskContext``
when ``takes_context=True``), sending Django's ``task_started`` / ``task_finished`` around each try."""

from __future__ import annotations

import functools
import inspect
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from arq_django.client.wire import ms_to_datetime
from arq_django.conf import get_config
from arq_django.jobs.registry import JobSpec
from arq_django.tasks.compat import (
    DEFAULT_QUEUE,
    TaskContext,
    TaskError,
    TaskResult,
    TaskResultStatus,
    task_finished,
    task_started,
)
from arq_django.tasks.options import options_for
from arq_django.tasks.sending import asend, sender_for

if TYPE_CHECKING:
    from arq_django.tasks.compat import AnyResult, AnyTask


def arq_queue(queue_name: str) -> str:
    """The arq_django queue a Django queue name maps to: ``"default"`` is ``ARQ_DJANGO['QUEUE']``."""
    return get_config().queue if queue_name == DEFAULT_QUEUE else queue_name


def django_queue(arq_queue_name: str) -> str:
    """The inverse of :func:`arq_queue`."""
    return DEFAULT_QUEUE if arq_queue_name == get_config().queue else arq_queue_name


def error_for(exc: BaseException) -> TaskError:
    """The contract's record of one failed try."""
    cls = type(exc)
    return TaskError(
        exception_class_path=f"{cls.__module__}.{cls.__qualname__}",
        traceback="".join(traceback.format_exception(exc)),
    )


def _running(task: AnyTask, ctx: dict[str, Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> AnyResult:
    now = timezone.now()
    worker = getattr(ctx.get("worker"), "name", "") or "worker"
    enqueued = ctx.get("enqueue_time")
    return TaskResult(
        task=task,
        id=str(ctx.get("job_id", "")),
        status=TaskResultStatus.RUNNING,
        enqueued_at=enqueued if enqueued is not None else ms_to_datetime(0),
        started_at=now,
        finished_at=None,
        last_attempted_at=now,
        args=list(args),
        kwargs=kwargs,
        backend=task.backend,
        errors=[],
        worker_ids=[worker] * int(ctx.get("job_try") or 1),
    )


def _ended(result: AnyResult, value: Any = None, exc: BaseException | None = None) -> None:
    object.__setattr__(result, "finished_at", timezone.now())
    if exc is None:
        object.__setattr__(result, "status", TaskResultStatus.SUCCESSFUL)
        object.__setattr__(result, "_return_value", value)
    else:
        object.__setattr__(result, "status", TaskResultStatus.FAILED)
        result.errors.append(error_for(exc))


def handler_for(task: AnyTask) -> Callable[..., Any]:
    """The ``(ctx, *args, **kwargs)`` handler the worker runs: sync tasks stay sync (the worker puts
    them in its thread pool), async tasks stay coroutines (on the loop)."""
    func = task.func
    context = task.takes_context

    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def run_async(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
            result = _running(task, ctx, args, kwargs)
            await asend(task_started, sender_for(task), task_result=result)
            try:
                if context:
                    value = await func(TaskContext(task_result=result), *args, **kwargs)
                else:
                    value = await func(*args, **kwargs)
            except BaseException as e:
                _ended(result, exc=e)
                await asend(task_finished, sender_for(task), task_result=result)
                raise
            _ended(result, value)
            await asend(task_finished, sender_for(task), task_result=result)
            return value

        return run_async

    @functools.wraps(func)
    def run_sync(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        result = _running(task, ctx, args, kwargs)
        task_started.send(sender=sender_for(task), task_result=result)
        try:
            value = (
                func(TaskContext(task_result=result), *args, **kwargs) if context else func(*args, **kwargs)
            )
        except BaseException as e:
            _ended(result, exc=e)
            task_finished.send(sender=sender_for(task), task_result=result)
            raise
        _ended(result, value)
        task_finished.send(sender=sender_for(task), task_result=result)
        return value

    return run_sync


@functools.lru_cache(maxsize=1024)
def job_spec(task: AnyTask) -> JobSpec:
    """The :class:`JobSpec` enqueue plans with and the worker runs; one per distinct ``Task`` value."""
    options = options_for(task)
    return JobSpec(
        name=task.module_path,
        # a cron task's ticks belong to its queue's workers; other tasks go where they are enqueued
        queue=arq_queue(task.queue_name) if options.cron and task.queue_name != DEFAULT_QUEUE else None,
        func=handler_for(task),
        is_async=inspect.iscoroutinefunction(task.func),
        timeout=options.timeout,
        max_tries=options.max_tries,
        priority=task.priority,
        retry=options.retry,
        cron=options.cron,
        signature=None,  # the backend binds the arguments itself, with a message in the contract's words
    )
