"""Worker extensions (issue 15): typed hooks called in order on a real worker, the WORKER_EXTENSIONS
setting and its system check, and an extension whose hooks raise, which never costs a job nor a row."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from arq_django import WorkerExtension, enqueue
from arq_django.checks import check_settings
from arq_django.jobs.progress import ProgressReports
from arq_django.mirror.listener import Mirror
from arq_django.models import JobResult
from arq_django.signals import SignalSender
from arq_django.worker.db_hygiene import DbHygiene
from arq_django.worker.events import JobEnd, JobStart
from arq_django.worker.extensions.base import WorkerHost
from arq_django.worker.heartbeat import Heartbeat
from arq_django.worker.settings import create_worker
from arq_django.worker.stats import JobStats
from arq_django.worker.threads import SyncThreads

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

HERE = __name__
CALLS: list[tuple[str, str]] = []
CONTEXTS: list[dict[str, Any]] = []


class First(WorkerExtension):
    label = "first"

    async def on_start(self, worker: WorkerHost) -> None:
        CALLS.append((self.label, f"on_start {worker.queue_name}"))

    async def on_stop(self, worker: WorkerHost) -> None:
        CALLS.append((self.label, "on_stop"))

    def job_context(self, ctx: dict[str, Any], job: JobStart) -> None:
        CALLS.append((self.label, f"job_context {job.function}"))
        CONTEXTS.append(dict(ctx))

    def job_started(self, event: JobStart) -> None:
        CALLS.append((self.label, f"job_started {event.function}"))

    def job_ended(self, event: JobEnd) -> None:
        CALLS.append(
            (self.label, f"job_ended {event.function} {event.outcome} {event.error or event.result}")
        )


class Second(First):
    label = "second"


def make_second() -> WorkerExtension:
    """A factory: the setting may name a function returning an extension."""
    return Second()


class Broken(WorkerExtension):
    name = "tests.Broken"  # an extension may name itself for the logs

    def job_context(self, ctx: dict[str, Any], job: JobStart) -> None:
        raise RuntimeError("bug in job_context")

    def job_started(self, event: JobStart) -> None:
        raise RuntimeError("bug in job_started")

    def job_ended(self, event: JobEnd) -> None:
        raise RuntimeError("bug in job_ended")

    async def on_stop(self, worker: WorkerHost) -> None:
        raise RuntimeError("bug in on_stop")


class FailsToStart(WorkerExtension):
    async def on_start(self, worker: WorkerHost) -> None:
        raise RuntimeError("cannot start")


class NotAnExtension:
    pass


def returns_a_string() -> str:
    return "not an extension"


@pytest.fixture
def extensions(settings, redis_url):
    def configure(*paths: str) -> None:
        settings.ARQ_DJANGO = {**settings.ARQ_DJANGO, "WORKER_EXTENSIONS": list(paths)}

    CALLS.clear()
    CONTEXTS.clear()
    yield configure
    CALLS.clear()
    CONTEXTS.clear()


async def drain(**overrides: Any) -> Any:
    worker = create_worker(burst=True, handle_signals=False, poll_delay=0.02, **overrides)
    await worker.async_run()
    await worker.close()
    return worker


async def test_hooks_run_in_order_on_a_real_worker(extensions):
    extensions(f"{HERE}.First", f"{HERE}.make_second")
    handle = enqueue("add", 1, 2)
    worker = await drain()
    assert handle.result(timeout=1) == 3
    assert CALLS == [
        ("first", "on_start arq:queue"),
        ("second", "on_start arq:queue"),
        ("first", "job_context add"),
        ("second", "job_context add"),
        ("first", "job_started add"),
        ("second", "job_started add"),
        ("first", "job_ended add complete 3"),
        ("second", "job_ended add complete 3"),
        ("second", "on_stop"),  # stopped in reverse
        ("first", "on_stop"),
    ]
    # The built-ins come first: a user's job_ended runs after the mirror has the row's update.
    assert [type(e) for e in worker.extensions.all] == [
        SyncThreads,
        DbHygiene,
        ProgressReports,
        Mirror,
        JobStats,
        Heartbeat,
        SignalSender,
        First,
        Second,
    ]
    assert worker.extensions.running == [] and not worker.extensions.ready


async def test_a_job_context_sees_arqs_keys_and_progress_and_no_service_keys(extensions):
    extensions(f"{HERE}.First")
    enqueue("add", 1, 2)
    await drain()
    (ctx,) = CONTEXTS
    assert {"redis", "worker", "job_id", "job_try", "enqueue_time", "score", "progress"} <= set(ctx)
    assert [key for key in ctx if key.startswith("arq_django")] == []  # the old service-locator keys


async def test_early_failures_reach_job_ended_without_job_started(extensions, redis_client):
    extensions(f"{HERE}.First")
    redis_client.zadd("arq:queue", {"ghost": 1})  # a queued id without a job record: expired
    await drain()
    assert [call for _, call in CALLS if call.startswith("job_")] == [
        "job_ended <unknown> failed JobExecutionFailed: job expired"
    ]


async def test_a_raising_extension_never_breaks_jobs_nor_the_mirror(extensions, caplog):
    caplog.set_level(logging.ERROR, logger="arq_django.worker")
    extensions(f"{HERE}.Broken", f"{HERE}.First")
    ok = enqueue("add", 2, 3)
    sync = enqueue("sync_add", 3, 4)
    worker = await drain()
    assert ok.result(timeout=1) == 5 and sync.result(timeout=1)["sum"] == 7
    rows = {row.job_id: row async for row in JobResult.objects.all()}
    assert rows[ok.job_id].status == JobResult.Status.COMPLETE and rows[ok.job_id].result == 5
    assert rows[sync.job_id].status == JobResult.Status.COMPLETE
    # The next extension still ran every hook, and every error names the extension and the hook.
    assert [call for _, call in CALLS].count("on_stop") == 1
    assert len([call for _, call in CALLS if call.startswith("job_ended")]) == 2
    messages = [r.getMessage() for r in caplog.records]
    for hook in ("job_context", "job_started", "job_ended"):
        assert f"worker extension tests.Broken failed in {hook} of job {ok.job_id}" in messages
    assert "worker extension tests.Broken failed to stop" in messages
    assert worker.jobs_complete == 2 and worker.jobs_failed == 0


async def test_an_extension_that_fails_to_start_stops_the_worker_and_the_others(extensions, caplog):
    caplog.set_level(logging.ERROR, logger="arq_django.worker")
    extensions(f"{HERE}.First", f"{HERE}.FailsToStart")
    handle = enqueue("add", 1, 1)
    worker = create_worker(burst=True, handle_signals=False, poll_delay=0.02)
    with pytest.raises(RuntimeError, match="cannot start"):
        await worker.async_run()
    await worker.close()
    assert CALLS == [("first", "on_start arq:queue"), ("first", "on_stop")]  # no job ran
    assert f"worker extension {HERE}.FailsToStart failed to start; the worker stops" in caplog.messages
    assert handle.status().value == "queued"


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("tests.worker.no_such_module.Audit", "cannot be imported (ModuleNotFoundError"),
        (f"{HERE}.NoSuchClass", "cannot be imported (ImportError"),
        (f"{HERE}.NotAnExtension", "is a class but not a subclass of arq_django.WorkerExtension"),
        (f"{HERE}.CALLS", "is a list, not a class or a function"),
    ],
)
def test_a_bad_path_fails_the_check_and_the_worker_build(settings, path, reason):
    settings.ARQ_DJANGO = {**settings.ARQ_DJANGO, "WORKER_EXTENSIONS": [f"{HERE}.First", path]}
    (error,) = check_settings()
    assert error.id == "arq_django.E006"
    assert f"ARQ_DJANGO['WORKER_EXTENSIONS'] entry {path!r} {reason}" in error.msg
    assert "Point it at a subclass of arq_django.WorkerExtension" in error.msg
    with pytest.raises(SystemCheckError, match=r"arq_django\.E006"):
        call_command("check")
    with pytest.raises(ImproperlyConfigured, match=re.escape(reason.split(" (")[0])):
        create_worker()


def test_good_paths_pass_the_check(settings):
    settings.ARQ_DJANGO = {
        **settings.ARQ_DJANGO,
        "WORKER_EXTENSIONS": [f"{HERE}.First", f"{HERE}.make_second"],
    }
    assert check_settings() == []


@pytest.mark.parametrize("value", ["tests.First", ["First"], [""], [1], ["a b.C"]])
def test_the_setting_must_be_a_list_of_dotted_paths(settings, value):
    settings.ARQ_DJANGO = {**settings.ARQ_DJANGO, "WORKER_EXTENSIONS": value}
    (error,) = check_settings()
    assert error.id == "arq_django.E001" and "ARQ_DJANGO['WORKER_EXTENSIONS'] must be a list of" in error.msg


async def test_a_factory_returning_something_else_fails_at_start(extensions):
    extensions(f"{HERE}.returns_a_string")
    worker = create_worker(burst=True, handle_signals=False)
    with pytest.raises(ImproperlyConfigured, match="returned a str, not a WorkerExtension"):
        await worker.async_run()
    await worker.close()


async def test_main_twice_starts_the_extensions_once(extensions):
    """arq's own tests run ``main()`` twice on one worker: the extensions start once, stop once."""
    extensions(f"{HERE}.First")
    worker = create_worker(burst=True, handle_signals=False, poll_delay=0.02)
    first = enqueue("add", 1, 1)
    await worker.main()
    second = enqueue("add", 2, 2)
    await worker.main()
    await worker.close()
    assert first.result(timeout=1) == 2 and second.result(timeout=1) == 4
    assert [call for _, call in CALLS if call.startswith("on_")] == ["on_start arq:queue", "on_stop"]


def test_sync_threads_shared_by_successive_workers_stay_open_for_the_last():
    threads = SyncThreads(2)
    threads.open(10)
    pool = threads.executor
    threads.open(10)  # a second worker built from the same settings class
    assert threads.executor is pool
    threads.close()
    assert threads.executor is pool and pool is not None and pool._max_workers == 2
    threads.close()
    assert threads.executor is None and pool._shutdown
