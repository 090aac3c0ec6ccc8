"""Django's Tasks contract on ArqBackend, enqueue side: configuration, capabilities, validation,
priorities, deferral, queues, transactions. Each docstring names the Django docs section it checks
(docs/topics/tasks.txt "Background Tasks", docs/ref/tasks.txt "Tasks")."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.core.checks import run_checks
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from arq_django.conf import get_config
from arq_django.exceptions import TaskArgumentsError
from arq_django.tasks import ArqBackend
from arq_django.tasks.compat import InvalidTask, TaskResultStatus, task_backends
from tests.tasks import sample
from tests.tasks.conftest import finished

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def queued(redis_client, queue: str | None = None) -> int:
    return int(redis_client.zcard(queue or get_config().queue))


def test_backend_is_configured_from_tasks_setting(redis_url) -> None:
    """ref "Backends" / topic "Configuring a Task backend": TASKS builds an ArqBackend with its QUEUES."""
    backend = task_backends["default"]
    assert isinstance(backend, ArqBackend)
    assert backend.queues == {"default", "mail"}


def test_capabilities_are_all_true(redis_url) -> None:
    """ref "Feature flags": supports_defer, supports_async_task, supports_get_result, supports_priority."""
    backend = task_backends["default"]
    assert backend.supports_defer and backend.supports_async_task
    assert backend.supports_get_result and backend.supports_priority


def test_enqueue_returns_a_ready_result_and_writes_one_job(redis_url, redis_client) -> None:
    """topic "Enqueueing Tasks": enqueue() returns a TaskResult, READY, with the args and its backend."""
    result = sample.add.enqueue(2, b=3)
    assert result.status == TaskResultStatus.READY
    assert result.args == [2] and result.kwargs == {"b": 3}
    assert result.backend == "default" and result.task == sample.add
    assert result.enqueued_at is not None and result.started_at is None and not result.is_finished
    assert queued(redis_client) == 1
    # the job's arq name is the task's module_path: the admin, the API and the commands show that
    job = redis_client.get(f"arq:job:{result.id}")
    assert b"tests.tasks.sample.add" in job
    assert redis_client.lrange(f"arq_django:wake:{get_config().queue}", 0, -1), "no wake signal written"


def test_queue_not_in_backend_queues_is_invalid(redis_url, redis_client) -> None:
    """ref "Task.using" / "InvalidTask": a queue_name not in QUEUES raises InvalidTask; nothing written."""
    with pytest.raises(InvalidTask, match="nope"):
        sample.add.using(queue_name="nope").enqueue(1, 2)
    assert queued(redis_client) == 0


def test_queue_arq_django_does_not_know_is_invalid_and_checked(redis_url) -> None:
    """ref "Backends" (validate_task, check): a TASKS queue no arq_django worker serves is refused with
    the fix, and `manage.py check` reports it (arq_django.E101)."""
    tasks = {"default": {"BACKEND": "arq_django.tasks.ArqBackend", "QUEUES": ["default", "ghost"]}}
    with override_settings(TASKS=tasks):
        with pytest.raises(InvalidTask, match=r"ARQ_DJANGO\['QUEUES'\]"):
            sample.add.using(queue_name="ghost").enqueue(1, 2)
        ids = [m.id for m in run_checks()]
        assert "arq_django.E101" in ids
    assert "arq_django.E101" not in [m.id for m in run_checks()]


def test_priority_bounds_and_naive_run_after_are_invalid(redis_url, settings) -> None:
    """ref "Task.priority" and "Task.run_after": -100..100 whole numbers; an aware datetime with USE_TZ."""
    with pytest.raises(InvalidTask):
        sample.add.using(priority=101)
    with pytest.raises(InvalidTask):
        sample.add.using(run_after=datetime.now())  # naive while USE_TZ = True


def test_argument_json_cannot_carry_is_refused(redis_url, redis_client) -> None:
    """topic "Enqueueing Tasks" (arguments must be JSON serializable): a datetime argument raises a
    TypeError naming the task and the fix; nothing is written."""
    with pytest.raises(TypeError, match=r"tests\.tasks\.sample\.echo.*JSON") as e:
        sample.echo.enqueue(when=timezone.now())
    assert isinstance(e.value, TaskArgumentsError)
    assert queued(redis_client) == 0


def test_arguments_the_function_cannot_take_are_refused(redis_url, redis_client) -> None:
    """topic "Enqueueing Tasks": arguments that do not fit the function fail at enqueue, naming it."""
    with pytest.raises(TaskArgumentsError, match=r"tests\.tasks\.sample\.add.*missing"):
        sample.add.enqueue(1)
    with pytest.raises(TaskArgumentsError, match="after the context"):
        sample.with_context.enqueue()
    assert queued(redis_client) == 0


def test_priority_orders_ready_tasks(redis_url, thread_worker, tmp_path: Path) -> None:
    """ref "Task.priority": among ready tasks the higher priority runs first."""
    log = tmp_path / "order.txt"
    results = [
        sample.record.using(priority=p).enqueue(str(log), name)
        for p, name in [(-50, "low"), (0, "mid"), (90, "high")]
    ]
    thread_worker(max_jobs=1)
    for result in results:
        finished(result)
    assert log.read_text().split() == ["high", "mid", "low"]


def test_run_after_defers_the_task(redis_url, thread_worker) -> None:
    """ref "Task.run_after": the task stays READY and runs no earlier than run_after."""
    run_after = timezone.now() + timedelta(seconds=1)
    result = sample.add.using(run_after=run_after).enqueue(1, 1)
    thread_worker()
    result.refresh()
    assert result.status == TaskResultStatus.READY
    finished(result)
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.started_at >= run_after - timedelta(milliseconds=5)


def test_queue_name_routes_to_that_queues_workers(redis_url, thread_worker, redis_client) -> None:
    """ref "Task.queue_name": a task on "mail" is written to the mail queue and run by its workers."""
    result = sample.on_mail.enqueue("hi")
    assert redis_client.zscore("mail", result.id) is not None
    thread_worker("mail")
    assert finished(result).return_value == "mail:hi"
    assert finished(result).task.queue_name == "mail"


def test_enqueue_on_commit_option_waits_for_the_commit(redis_url, redis_client) -> None:
    """topic "Transactions": with OPTIONS ENQUEUE_ON_COMMIT the job is written when the transaction
    commits, and never on rollback (Django's advice, built in)."""
    tasks = {"default": {"BACKEND": "arq_django.tasks.ArqBackend", "OPTIONS": {"ENQUEUE_ON_COMMIT": True}}}
    with override_settings(TASKS=tasks):
        with transaction.atomic():
            result = sample.add.enqueue(1, 2)
            assert queued(redis_client) == 0
        assert redis_client.zscore(get_config().queue, result.id) is not None
        with pytest.raises(RuntimeError), transaction.atomic():
            sample.add.enqueue(3, 4)
            raise RuntimeError("rolled back")
        assert queued(redis_client) == 1
