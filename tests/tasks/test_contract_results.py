"""Django's Tasks contract on ArqBackend, results side: get_result / aget_result from the mirror and
from Redis, the status mapping, return values, errors, refresh. Docstrings name the Django docs section
(docs/topics/tasks.txt "Task results", docs/ref/tasks.txt "Task results")."""

from __future__ import annotations

import pytest
from django.test import override_settings

from arq_django.models import JobResult
from arq_django.tasks.compat import TaskResultDoesNotExist, TaskResultStatus, task_backends
from arq_django.tasks.results import exception_path
from tests.tasks import sample
from tests.tasks.conftest import afinished, finished

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def no_mirror():
    return override_settings(ARQ_DJANGO={**get_config_raw(), "MIRROR": False})


def get_config_raw():
    from django.conf import settings

    return dict(settings.ARQ_DJANGO)


def test_successful_result_fields(redis_url, thread_worker) -> None:
    """ref "TaskResult": SUCCESSFUL with return_value, times, attempts, worker_ids, args and kwargs."""
    result = sample.add.enqueue(20, b=22)
    thread_worker()
    finished(result)
    assert result.status == TaskResultStatus.SUCCESSFUL and result.return_value == 42
    assert result.enqueued_at <= result.started_at <= result.finished_at
    assert result.last_attempted_at == result.started_at
    assert result.attempts == 1 and len(result.worker_ids) == 1 and result.worker_ids[0]
    assert result.args == [20] and result.kwargs == {"b": 22}
    # the mirror row is what get_result read
    assert JobResult.objects.get(job_id=result.id).function == "tests.tasks.sample.add"


def test_get_result_by_id_from_backend_and_task(redis_url, thread_worker) -> None:
    """topic "Retrieving task result": backend.get_result(id) and task.get_result(id) return it."""
    result = sample.add.enqueue(1, 2)
    thread_worker()
    finished(result)
    again = task_backends["default"].get_result(result.id)
    assert again.id == result.id and again.return_value == 3 and again.task.func is sample.add.func
    assert sample.add.get_result(result.id).return_value == 3


def test_unknown_id_raises_does_not_exist(redis_url) -> None:
    """ref "TaskResultDoesNotExist": an unknown id raises it, from the mirror and from Redis."""
    with pytest.raises(TaskResultDoesNotExist):
        task_backends["default"].get_result("no-such-id")
    with no_mirror(), pytest.raises(TaskResultDoesNotExist):
        task_backends["default"].get_result("no-such-id")


def test_failed_task_carries_exception_path_and_traceback(redis_url, thread_worker) -> None:
    """topic "Exceptions" / ref "TaskError": FAILED, errors[-1] names the class and has the traceback;
    return_value raises."""
    result = sample.fail.enqueue("broken on purpose")
    thread_worker()
    finished(result)
    assert result.status == TaskResultStatus.FAILED
    error = result.errors[-1]
    assert error.exception_class_path == "tests.tasks.sample.Boom"
    assert error.exception_class is sample.Boom
    assert "broken on purpose" in error.traceback and "raise Boom(message)" in error.traceback
    with pytest.raises(ValueError):
        result.return_value  # noqa: B018


def test_status_mapping_ready_running_successful(redis_url, thread_worker) -> None:
    """ref "TaskResultStatus": queued → READY, in progress → RUNNING, complete → SUCCESSFUL."""
    result = sample.slow_ok.enqueue(0.5)
    assert task_backends["default"].get_result(result.id).status == TaskResultStatus.READY
    thread_worker()

    def running() -> bool:
        result.refresh()
        return result.status == TaskResultStatus.RUNNING

    from tests.conftest import wait_for

    wait_for(running)
    assert finished(result).status == TaskResultStatus.SUCCESSFUL


def test_results_from_redis_when_the_mirror_is_off(redis_url, thread_worker) -> None:
    """ref "BaseTaskBackend.get_result" (supports_get_result): with ARQ_DJANGO['MIRROR'] off, results
    come from arq's records: READY, then SUCCESSFUL / FAILED with the exception's path."""
    with no_mirror():
        ok = sample.add.enqueue(2, 2)
        bad = sample.fail.enqueue("from redis")
        assert task_backends["default"].get_result(ok.id).status == TaskResultStatus.READY
        thread_worker()
        assert finished(ok).return_value == 4
        assert finished(bad).status == TaskResultStatus.FAILED
        assert bad.errors[-1].exception_class_path == "tests.tasks.sample.Boom"
        assert "from redis" in bad.errors[-1].traceback
        assert not JobResult.objects.filter(job_id=ok.id).exists()


async def test_async_task_aenqueue_aget_result_arefresh(redis_url, thread_worker) -> None:
    """topic "Enqueueing Tasks" (aenqueue) and ref "TaskResult.arefresh": an async task runs on the
    worker's loop; aget_result and arefresh read its result."""
    from asgiref.sync import sync_to_async

    result = await sample.aadd.aenqueue(5, 6)
    assert result.status == TaskResultStatus.READY
    await sync_to_async(thread_worker)()
    await afinished(result)
    assert result.return_value == 11
    fetched = await task_backends["default"].aget_result(result.id)
    assert fetched.status == TaskResultStatus.SUCCESSFUL and fetched.return_value == 11


def test_exception_path_from_traceback_lines() -> None:
    """ref "TaskError.exception_class_path": builtins are named builtins.X, others by module path."""
    assert (
        exception_path("ValueError: x", "Traceback ...\n  File x\nValueError: x\n") == "builtins.ValueError"
    )
    assert exception_path("Boom: x", "Traceback\n  File\npkg.mod.Boom: x") == "pkg.mod.Boom"
