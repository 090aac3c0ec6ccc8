"""``get_result``: a task's ``TaskResult`` from the result mirror (``JobResult``), or from arq's Redis
records when the mirror is off (or has no row yet).

Statuses map: queued / deferred → ``READY``; in_progress / retrying → ``RUNNING``; complete →
``SUCCESSFUL``; failed / aborted → ``FAILED``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from asgiref.sync import sync_to_async
from django.utils.module_loading import import_string

from arq_django.client.handle import JobState, finished_state
from arq_django.client.wire import FinishedJob, decode_job, decode_result, timestamp_ms
from arq_django.conf import get_config
from arq_django.connection import async_pool, clients_for, servers
from arq_django.exceptions import JobFailed
from arq_django.keys import in_progress_key_prefix, job_key_prefix, result_key_prefix, retry_key_prefix
from arq_django.serializers import from_json_data, get_serializer
from arq_django.tasks.compat import Task, TaskError, TaskResult, TaskResultDoesNotExist, TaskResultStatus
from arq_django.tasks.spec import arq_queue, django_queue

if TYPE_CHECKING:
    from arq_django.tasks.compat import AnyResult


class Backend(Protocol):
    """What reading a result needs of the backend (not the class itself: it imports this module)."""

    alias: str
    queues: set[str]


STATUS = {
    JobState.queued: TaskResultStatus.READY,
    JobState.deferred: TaskResultStatus.READY,
    JobState.in_progress: TaskResultStatus.RUNNING,
    JobState.retrying: TaskResultStatus.RUNNING,
    JobState.complete: TaskResultStatus.SUCCESSFUL,
    JobState.failed: TaskResultStatus.FAILED,
    JobState.aborted: TaskResultStatus.FAILED,
}


ABORTED = "asyncio.exceptions.CancelledError"
"""What an aborted task's error names: the worker cancelled it."""


@dataclass(frozen=True)
class Found:
    """What the mirror or Redis knows of one job, in our words."""

    function: str
    queue_name: str
    state: JobState
    args: list[Any]
    kwargs: dict[str, Any]
    enqueued_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    tries: int
    worker: str
    value: Any = None
    error: TaskError | None = None


def exception_path(error: str, traceback: str) -> str:
    """The failed exception's dotted path: a traceback's last line names it as Python printed it
    (``pkg.mod.Error: message``; builtins bare), else the mirror's ``Type: message``."""
    lines = [line for line in traceback.strip().splitlines() if line and not line.startswith(" ")]
    last = lines[-1] if lines else error
    name = last.split(":", 1)[0].strip() or "Exception"
    return name if "." in name else f"builtins.{name}"


def _wrote_buffered_rows() -> bool:
    from arq_django.mirror import buffer

    return not buffer.rows.idle and buffer.flush(buffer.WAIT_AT_REQUEST_END)


def _from_row(result_id: str) -> Found | None:
    from arq_django.models import JobResult

    row = JobResult.objects.filter(job_id=result_id).first()
    if row is None and _wrote_buffered_rows():  # read-your-writes: this process's enqueue rows first
        row = JobResult.objects.filter(job_id=result_id).first()
    if row is None:
        return None
    state = JobState(row.status)
    error = None
    if state in (JobState.failed, JobState.aborted):
        text = row.error or state.value
        path = ABORTED if state is JobState.aborted else exception_path(text, row.traceback)
        error = TaskError(exception_class_path=path, traceback=row.traceback or text)
    return Found(
        function=row.function,
        queue_name=row.queue_name,
        state=state,
        args=list(from_json_data(row.args) or []),
        kwargs=dict(from_json_data(row.kwargs) or {}),
        enqueued_at=row.enqueued_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        tries=row.tries,
        worker=row.worker,
        value=from_json_data(row.result) if state is JobState.complete else None,
        error=error,
    )


def _queues(backend: Backend) -> list[str]:
    return sorted({arq_queue(q) for q in backend.queues} | {get_config().queue})


def _redis_commands(queues: list[str], result_id: str) -> list[tuple[str, ...]]:
    commands = [
        ("GET", result_key_prefix + result_id),
        ("GET", job_key_prefix + result_id),
        ("EXISTS", in_progress_key_prefix + result_id),
        ("GET", retry_key_prefix + result_id),
    ]
    return commands + [("ZSCORE", queue, result_id) for queue in queues]


def _from_redis(queues: list[str], replies: list[Any]) -> Found | None:
    raw_result, raw_job, in_progress, tried, *scores = replies
    loads = get_serializer().loads
    score = next((s for s in scores if s is not None), None)
    fallback = queues[0] if queues else get_config().queue
    queue = next((q for q, s in zip(queues, scores, strict=True) if s is not None), fallback)
    if raw_result:
        info: FinishedJob = decode_result(raw_result, loads)
        state = finished_state(info)
        error = None
        if not info.success:
            exc = info.result
            path = (
                exc.exc_type
                if isinstance(exc, JobFailed)
                else f"{type(exc).__module__}.{type(exc).__qualname__}"
            )
            error = TaskError(exception_class_path=path, traceback=str(exc))
        return Found(
            function=info.function,
            queue_name=info.queue_name or queue,
            state=state,
            args=list(info.args),
            kwargs=dict(info.kwargs),
            enqueued_at=info.enqueue_time,
            started_at=info.start_time,
            finished_at=info.finish_time,
            tries=info.job_try or 1,
            worker="",
            value=info.result if info.success else None,
            error=error,
        )
    if not raw_job:
        return None
    job = decode_job(raw_job, loads)
    if in_progress:
        state = JobState.in_progress
    elif tried:
        state = JobState.retrying
    else:
        state = JobState.deferred if score and score > timestamp_ms() else JobState.queued
    return Found(
        function=job.function,
        queue_name=queue,
        state=state,
        args=list(job.args),
        kwargs=dict(job.kwargs),
        enqueued_at=job.enqueue_time,
        started_at=None,
        finished_at=None,
        tries=int(tried or 0),
        worker="",
    )


def _task_result(backend: Backend, result_id: str, found: Found | None) -> AnyResult:
    if found is None:
        raise TaskResultDoesNotExist(
            f"no task result {result_id!r}: it was never enqueued here, or its record expired "
            "(ARQ_DJANGO['KEEP_RESULT'], or the mirror's RESULT_RETENTION)."
        )
    try:
        task = import_string(found.function)
    except ImportError as e:
        raise TaskResultDoesNotExist(
            f"task result {result_id!r} belongs to {found.function!r}, which cannot be imported here: {e}."
        ) from e
    if not isinstance(task, Task):
        raise TaskResultDoesNotExist(f"{result_id!r} is the id of job {found.function!r}, not of a task.")
    queue = django_queue(found.queue_name)
    if queue != task.queue_name and queue in backend.queues:
        task = task.using(queue_name=queue)
    status = STATUS[found.state]
    ended = status in (TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED)
    attempted = found.started_at if found.tries else None
    result: AnyResult = TaskResult(
        task=task,
        id=result_id,
        status=status,
        enqueued_at=found.enqueued_at,
        started_at=found.started_at,
        finished_at=found.finished_at if ended else None,
        last_attempted_at=attempted,
        args=found.args,
        kwargs=found.kwargs,
        backend=backend.alias,
        errors=[found.error] if found.error else [],
        worker_ids=[found.worker or "worker"] * found.tries,
    )
    if status == TaskResultStatus.SUCCESSFUL:
        object.__setattr__(result, "_return_value", found.value)
    return result


def read(backend: Backend, result_id: str) -> AnyResult:
    """The result of task ``result_id`` (sync); with the mirror off, from each server holding the
    backend's queues (``QUEUES`` entries may have a Redis of their own), the default server first."""
    found = _from_row(result_id) if get_config().mirror else None
    for client, held in clients_for(_queues(backend)) if found is None else ():
        with client.pipeline(transaction=False) as pipe:
            for command in _redis_commands(held, result_id):
                pipe.execute_command(*command)  # type: ignore[no-untyped-call]
            found = _from_redis(held, pipe.execute())
        if found is not None:
            break
    return _task_result(backend, result_id, found)


async def aread(backend: Backend, result_id: str) -> AnyResult:
    """Async twin of :func:`read` (Redis on the loop's pools, the mirror through the ORM)."""
    found = await sync_to_async(_from_row)(result_id) if get_config().mirror else None
    for _, held in servers(_queues(backend)) if found is None else ():
        async with async_pool(queue=held[0] if held else None).pipeline(transaction=False) as pipe:
            for command in _redis_commands(held, result_id):
                pipe.execute_command(*command)
            found = _from_redis(held, await pipe.execute())
        if found is not None:
            break
    return _task_result(backend, result_id, found)
