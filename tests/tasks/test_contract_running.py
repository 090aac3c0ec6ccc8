"""Django's Tasks contract on ArqBackend, worker side: context, signals, arq_django's options, mixed use
with @job and plain arq producers in one real worker process, and bad input. Docstrings name the Django
docs section (docs/topics/tasks.txt, docs/ref/tasks.txt "Signals")."""

from __future__ import annotations

import asyncio
import importlib
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from arq.connections import RedisSettings, create_pool

from arq_django import enqueue
from arq_django.client.handle import JobHandle, JobState
from arq_django.models import JobResult
from arq_django.serializers import JSON
from arq_django.tasks import ArqBackend
from arq_django.tasks.compat import TaskResultStatus, task_enqueued, task_finished, task_started
from tests.conftest import wait_for
from tests.tasks import sample
from tests.tasks.conftest import finished

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_takes_context_gets_task_result_and_attempt(redis_url, thread_worker) -> None:
    """topic "Task context" / ref "TaskContext": context.task_result is this result, RUNNING, and
    context.attempt counts from 1."""
    result = sample.with_context.enqueue(7)
    thread_worker()
    value = finished(result).return_value
    assert value == {"id": result.id, "attempt": 1, "status": "RUNNING", "value": 7, "worker_ids": 1}


def test_signals_enqueued_started_finished(redis_url, thread_worker) -> None:
    """ref "Signals": task_enqueued at enqueue, task_started and task_finished around the run, each with
    the backend's class as sender and the TaskResult at that moment."""
    seen: list[tuple[str, Any, str, str]] = []

    def receiver(name: str):
        def on(sender: Any, task_result: Any, **kwargs: Any) -> None:
            seen.append((name, sender, task_result.id, str(task_result.status)))

        return on

    receivers = {task_enqueued: receiver("enqueued"), task_started: receiver("started"),
                 task_finished: receiver("finished")}  # fmt: skip
    for signal, on in receivers.items():
        signal.connect(on)
    try:
        ok = sample.add.enqueue(1, 2)
        bad = sample.fail.enqueue("x")
        thread_worker()
        finished(ok), finished(bad)
        wait_for(lambda: len(seen) == 6)
    finally:
        for signal, on in receivers.items():
            signal.disconnect(on)
    assert all(sender is ArqBackend for _, sender, _, _ in seen)
    by_id = {rid: [(n, s) for n, _, i, s in seen if i == rid] for rid in (ok.id, bad.id)}
    assert by_id[ok.id] == [("enqueued", "READY"), ("started", "RUNNING"), ("finished", "SUCCESSFUL")]
    assert by_id[bad.id] == [("enqueued", "READY"), ("started", "RUNNING"), ("finished", "FAILED")]


def test_async_task_signals_and_context(redis_url, thread_worker) -> None:
    """ref "Signals" for async tasks: sent from the worker's loop with asend."""
    seen: list[str] = []

    def on(sender: Any, task_result: Any, **kwargs: Any) -> None:
        seen.append(str(task_result.status))

    task_finished.connect(on)
    try:
        result = sample.aadd.enqueue(1, 1)
        thread_worker()
        assert finished(result).return_value == 2
        wait_for(lambda: seen == ["SUCCESSFUL"])
    finally:
        task_finished.disconnect(on)


def test_task_options_retry_and_attempts(redis_url, thread_worker) -> None:
    """topic "Task context" (attempt) with arq_django's retry_on/max_tries: the OSError of the first try
    is retried, and the second attempt sees attempt == 2."""
    result = sample.flaky.enqueue(uuid.uuid4().hex)
    thread_worker()
    assert finished(result).return_value == 2
    assert result.attempts == 2


def test_task_options_timeout_fails_the_task(redis_url, thread_worker) -> None:
    """topic "Exceptions" with arq_django's timeout: a task past its timeout is FAILED (TimeoutError)."""
    result = sample.slow.enqueue()
    thread_worker()
    finished(result)
    assert result.status == TaskResultStatus.FAILED
    assert result.errors[-1].exception_class_path == "builtins.TimeoutError"


def test_arq_task_class_accepts_options_on_task(redis_url) -> None:
    """ref "task() decorator" (extra keywords go to the backend's task_class): ArqTask validates them."""
    from django.core.exceptions import ImproperlyConfigured

    from arq_django.tasks.options import options_for

    try:
        from django.tasks import task  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        from django_tasks import task  # type: ignore[no-redef,unused-ignore]

    if "kwargs" not in task.__code__.co_varnames:  # Django 6.0's task() takes no extra keywords
        pytest.skip("this task() passes no options to task_class; use @task_options")
    made = task(sample.add.func, max_tries=5, timeout=3)
    assert options_for(made).max_tries == 5 and options_for(made).timeout == 3.0
    with pytest.raises(ImproperlyConfigured, match="max_tries"):
        options_for(task(sample.add.func, max_tries=0))


def _temp_task_module(tmp_path: Path, body: str) -> str:
    name = f"gone_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(
        "try:\n    from django.tasks import task\nexcept ImportError:\n    from django_tasks import task\n"
        + body
    )
    sys.path.insert(0, str(tmp_path))
    importlib.invalidate_caches()
    return name


def _failed_row(job_id: str) -> JobResult:
    wait_for(lambda: JobResult.objects.filter(job_id=job_id, status="failed").exists())
    return JobResult.objects.get(job_id=job_id)


def test_module_path_that_cannot_be_imported_on_the_worker(redis_url, thread_worker, tmp_path) -> None:
    """Bad input: the worker cannot import the task's module. The job is FAILED with the reason and the
    worker keeps running tasks."""
    name = _temp_task_module(tmp_path, "@task\ndef t(x):\n    return x\n")
    try:
        result = importlib.import_module(name).t.enqueue(1)
        (tmp_path / f"{name}.py").unlink()
        sys.modules.pop(name)
        importlib.invalidate_caches()
        thread_worker()
        row = _failed_row(result.id)
        assert "cannot be imported on this worker" in row.error and name in row.error
        assert finished(sample.add.enqueue(1, 1)).return_value == 2
    finally:
        sys.path.remove(str(tmp_path))


def test_task_removed_after_it_was_enqueued(redis_url, thread_worker, tmp_path) -> None:
    """Bad input: the task's function is gone from its module when the worker runs it: FAILED, with the
    reason; get_result says which path it cannot import."""
    from arq_django.tasks.compat import TaskResultDoesNotExist, task_backends

    name = _temp_task_module(tmp_path, "@task\ndef t(x):\n    return x\n")
    try:
        result = importlib.import_module(name).t.enqueue(1)
        (tmp_path / f"{name}.py").write_text("# t was removed\n")
        sys.modules.pop(name)
        importlib.invalidate_caches()
        thread_worker()
        row = _failed_row(result.id)
        assert f"{name}.t" in row.error and "cannot be imported" in row.error
        with pytest.raises(TaskResultDoesNotExist, match=f"{name}.t"):
            task_backends["default"].get_result(result.id)
    finally:
        sys.path.remove(str(tmp_path))


def test_one_worker_process_runs_task_job_and_plain_arq_job(redis_url, start_worker) -> None:
    """Mixed use: `arq arq_django.worker.WorkerSettings` runs a @task (imported by module_path), a @job
    and a job a plain arq producer wrote, side by side."""

    async def plain_producer() -> Any:
        settings = RedisSettings.from_dsn(redis_url)
        pool = await create_pool(settings, job_serializer=JSON.dumps, job_deserializer=JSON.loads)
        try:
            job = await pool.enqueue_job("sync_add", 4, 5)
            assert job is not None
            return await job.result(timeout=20)
        finally:
            await pool.aclose()

    worker = start_worker()
    result = sample.pid.enqueue()
    handle = enqueue("add", 2, 3)
    assert handle is not None
    assert asyncio.run(plain_producer())["sum"] == 9
    assert handle.result(timeout=20) == 5
    finished(result)
    assert result.status == TaskResultStatus.SUCCESSFUL and result.return_value == worker.process.pid
    assert JobHandle(result.id).status() == JobState.complete


def test_cron_task_is_scheduled_by_its_queues_workers(redis_url, thread_worker) -> None:
    """topic "Defining tasks" plus arq_django's cron option: a task with cron= is registered when its
    module is imported, and a worker of its queue runs its ticks."""
    from arq_django.jobs.registry import registry

    try:
        from tests.tasks import cron_sample

        spec = registry.get("tests.tasks.cron_sample.tick")
        assert spec.cron is not None and spec.queue == "mail"
        thread_worker("mail")
        wait_for(lambda: JobResult.objects.filter(function=spec.name, status="complete").exists())
        assert cron_sample.tick.func() == "tick"
    finally:
        registry.remove("tests.tasks.cron_sample.tick")
