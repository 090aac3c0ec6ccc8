"""``ArqBackend``: Django's Tasks contract (``django.tasks`` / the django-tasks backport) on arq_django.

``task.enqueue()`` goes through the same plan and write as :func:`arq_django.enqueue`: one pooled
redis-py round trip (no event loop per call), JSON payloads, the wake signal that starts the job on an
idle worker at once, and the mirror row. The worker imports the task by ``module_path`` when it first
sees it (:mod:`arq_django.tasks.resolve`).
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

from django.core import checks as django_checks
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone

from arq_django.client.enqueue import awrite, record, write
from arq_django.client.plan import JobPlan, plan_job
from arq_django.conf import Config, get_config
from arq_django.exceptions import TaskArgumentsError
from arq_django.tasks.compat import BaseTaskBackend, InvalidTask, TaskResult, TaskResultStatus, task_enqueued
from arq_django.tasks.options import ArqTask
from arq_django.tasks.results import aread, read
from arq_django.tasks.spec import arq_queue, job_spec

if TYPE_CHECKING:
    from arq_django.tasks.compat import AnyResult, AnyTask


class ArqBackend(BaseTaskBackend):  # type: ignore[misc]
    """Runs Django tasks on arq_django workers. ``OPTIONS``: ``{"ENQUEUE_ON_COMMIT": bool}`` (default
    ``False``): inside an atomic block, write the job only when the transaction commits."""

    task_class = ArqTask
    supports_defer = True
    supports_async_task = True
    supports_get_result = True
    supports_priority = True

    def __init__(self, alias: str, params: dict[str, Any]) -> None:
        super().__init__(alias, params)
        self.on_commit = bool(self.options.get("ENQUEUE_ON_COMMIT", False))
        self._validated: dict[AnyTask, Config] = {}
        from arq_django.tasks.setup import install

        install()

    # -- validation ---------------------------------------------------------------------------------
    def validate_task(self, task: AnyTask) -> None:
        """The contract's rules, then ours: the queue must be one arq_django knows."""
        super().validate_task(task)
        queue = arq_queue(task.queue_name)
        config = get_config()
        if queue not in config.queues:
            raise InvalidTask(
                f"task {task.module_path!r}: queue_name={task.queue_name!r} maps to arq_django queue "
                f"{queue!r}, which ARQ_DJANGO['QUEUES'] does not list (known: {', '.join(config.queues)}). "
                "Add it there, so a worker can serve it."
            )

    def _checked(self, task: AnyTask) -> None:
        config = get_config()
        if self._validated.get(task) is not config:  # validation is pure given the task and settings
            self.validate_task(task)
            if len(self._validated) < 1024:
                self._validated[task] = config

    def check(self, **kwargs: Any) -> list[django_checks.CheckMessage]:
        """E101: a queue in ``QUEUES`` that ``ARQ_DJANGO['QUEUES']`` does not list."""
        try:
            known = get_config().queues
        except ImproperlyConfigured:
            return []  # arq_django.E001 reports the setting itself

        return [
            django_checks.Error(
                f"TASKS[{self.alias!r}]['QUEUES'] lists {name!r}, which maps to arq_django queue "
                f"{arq_queue(name)!r}; ARQ_DJANGO['QUEUES'] does not list it, so no worker serves it.",
                hint=f"Add {arq_queue(name)!r} to ARQ_DJANGO['QUEUES'], or drop it from TASKS.",
                id="arq_django.E101",
            )
            for name in sorted(self.queues)
            if arq_queue(name) not in known
        ]

    # -- enqueue ------------------------------------------------------------------------------------
    def _plan(self, task: AnyTask, args: Any, kwargs: Any) -> tuple[AnyResult, JobPlan]:
        self._checked(task)
        _bind(task, args, kwargs)
        try:
            result: AnyResult = TaskResult(
                task=task,
                id="",
                status=TaskResultStatus.READY,
                enqueued_at=None,
                started_at=None,
                finished_at=None,
                last_attempted_at=None,
                args=args,
                kwargs=kwargs,
                backend=self.alias,
                errors=[],
                worker_ids=[],
            )
        except (TypeError, ValueError) as e:
            raise TaskArgumentsError(
                f"task {task.module_path!r}: its arguments must round-trip through JSON ({e}). Pass plain "
                "data (str, int, float, bool, None, lists, dicts with str keys): an id instead of a model "
                "instance, an ISO string instead of a datetime."
            ) from e
        plan = plan_job(
            job_spec(task),
            tuple(result.args),
            result.kwargs,
            queue_name=arq_queue(task.queue_name),
            defer_until=task.run_after,
            priority=task.priority,
        )
        object.__setattr__(result, "id", plan.job_id)
        return result, plan

    def enqueue(self, task: AnyTask, args: Any, kwargs: Any) -> AnyResult:
        """Write the task as an arq job; returns its ``READY`` result (the id is the arq job id)."""
        result, plan = self._plan(task, args, kwargs)
        if self.on_commit and transaction.get_connection().in_atomic_block:

            def at_commit() -> None:
                at = plan.rebased(round(timezone.now().timestamp() * 1000))
                if write(at):
                    record(at, tuple(result.args), result.kwargs)

            transaction.on_commit(at_commit)
        else:
            write(plan)
            record(plan, tuple(result.args), result.kwargs)
        object.__setattr__(result, "enqueued_at", timezone.now())
        task_enqueued.send(type(self), task_result=result)
        return result

    async def aenqueue(self, task: AnyTask, args: Any, kwargs: Any) -> AnyResult:
        """Async twin of :meth:`enqueue`, on the loop's pool (never a thread)."""
        result, plan = self._plan(task, args, kwargs)
        await awrite(plan)
        if get_config().mirror and get_config().mirror_on_enqueue:
            from arq_django.mirror.enqueued import arecord_enqueued

            await arecord_enqueued(plan, tuple(result.args), result.kwargs)
        object.__setattr__(result, "enqueued_at", timezone.now())
        await task_enqueued.asend(type(self), task_result=result)
        return result

    # -- results ------------------------------------------------------------------------------------
    def get_result(self, result_id: str) -> AnyResult:
        """The task's result from the mirror, or Redis when the mirror is off; raises
        ``TaskResultDoesNotExist`` for an unknown id."""
        return read(self, result_id)

    async def aget_result(self, result_id: str) -> AnyResult:
        """Async twin of :meth:`get_result`."""
        return await aread(self, result_id)


_signatures: dict[Any, tuple[inspect.Signature | None, set[tuple[int, tuple[str, ...]]]]] = {}


def _bind(task: AnyTask, args: Any, kwargs: Any) -> None:
    """Refuse arguments the task function cannot take now, rather than as a failed run later."""
    entry = _signatures.get(task.func)
    if entry is None:
        try:
            signature: inspect.Signature | None = inspect.signature(task.func)
        except (TypeError, ValueError):
            signature = None
        if signature is not None and task.takes_context:
            signature = signature.replace(parameters=list(signature.parameters.values())[1:])
        entry = _signatures[task.func] = (signature, set())
    signature, shapes = entry
    shape = (len(args), tuple(kwargs))
    if signature is None or shape in shapes:
        return
    try:
        signature.bind(*args, **kwargs)
    except TypeError as e:
        raise TaskArgumentsError(
            f"task {task.module_path!r} cannot be enqueued with these arguments: {e}. Its function is "
            f"{task.func.__name__}{signature}"
            + (" (after the context the worker passes)." if task.takes_context else ".")
        ) from e
    if len(shapes) < 64:
        shapes.add(shape)
