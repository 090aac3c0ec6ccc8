"""Real workers keep JobResult rows in step: every status, progress, plain-arq producers, settings."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

import pytest
from arq import create_pool
from arq.connections import RedisSettings
from asgiref.sync import sync_to_async
from django.db import OperationalError, connections

from arq_django import aenqueue, flush_rows
from arq_django.client.abort import aabort
from arq_django.connection import aclose_pools
from arq_django.mirror import listener
from arq_django.models import JobResult
from arq_django.serializers import JSON
from arq_django.worker.events import JobEnd, Outcome
from arq_django.worker.heartbeat import Heartbeat
from tests.mirror_support import background_worker, row_when, status_is, until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
Status = JobResult.Status


@pytest.fixture(autouse=True)
async def pools(redis_url):
    yield
    await aclose_pools()
    await sync_to_async(connections.close_all)()  # the async ORM's thread: PostgreSQL drops the test DB


async def test_complete_failed_and_progress_through_a_real_worker(redis_url, redis_client):
    ok = await aenqueue("add", 1, 2)
    bad = await aenqueue("boom", "kaput")
    running = await aenqueue("gated", "gate:a", progress=0.5)
    sync_running = await aenqueue("sync_gated", "gate:b")
    assert await asyncio.to_thread(flush_rows, 10)  # the enqueue-time rows are buffered
    queued = await JobResult.objects.aget(job_id=ok.job_id)
    assert queued.status == Status.QUEUED and queued.args == [1, 2] and queued.kwargs == {}
    assert queued.enqueued_at is not None and queued.max_tries == 5 and queued.scheduled_for is None

    async with background_worker():
        row = await row_when(running.job_id, lambda r: r.progress == 0.5)
        assert row.status == Status.IN_PROGRESS and row.progress_message == "waiting for the gate"
        assert row.started_at is not None and row.worker and row.tries == 1
        progress = await running.aprogress()
        assert (
            progress is not None and progress.fraction == 0.5 and progress.message == "waiting for the gate"
        )
        row = await row_when(sync_running.job_id, lambda r: r.progress == 0.25)
        assert row.status == Status.IN_PROGRESS and row.progress_message == "sync, waiting"
        assert (await sync_to_async(sync_running.progress)()).fraction == 0.25
        redis_client.set("gate:a", 1)
        redis_client.set("gate:b", 1)

    rows = {r.job_id: r async for r in JobResult.objects.all()}
    done = rows[ok.job_id]
    assert done.status == Status.COMPLETE and done.result == 3 and done.tries == 1
    assert done.started_at and done.finished_at and done.duration is not None and ":" in done.worker
    failed = rows[bad.job_id]
    assert failed.status == Status.FAILED and failed.error == "ValueError: kaput"
    assert "raise ValueError(message)" in failed.traceback and failed.result is None
    finished = rows[running.job_id]
    assert finished.status == Status.COMPLETE and finished.result == "opened" and finished.progress == 0.5
    assert rows[sync_running.job_id].result == "opened"


async def test_retrying_then_complete_on_the_next_try(redis_url, redis_client):
    handle = await aenqueue("retry_later")
    async with background_worker():
        row = await row_when(handle.job_id, status_is(Status.RETRYING))
        assert row.tries == 1 and row.error == "Retry: <Retry defer 3600.00s>"
        assert row.scheduled_for > dt.datetime.now(dt.UTC) + dt.timedelta(minutes=50)
        redis_client.zadd("arq:queue", {handle.job_id: int(time.time() * 1000)})  # due now
        row = await row_when(handle.job_id, status_is(Status.COMPLETE))
    assert row.tries == 2 and row.result == 2


async def test_abort_running_queued_and_deferred_jobs(redis_url, redis_client):
    queued = await aenqueue("add", 1, 1)
    deferred = await aenqueue("add", 2, 2, _defer_by=dt.timedelta(hours=1))
    assert await asyncio.to_thread(flush_rows, 10)  # the enqueue-time rows are buffered
    row = await JobResult.objects.aget(job_id=deferred.job_id)
    assert row.status == Status.DEFERRED and row.scheduled_for > dt.datetime.now(dt.UTC)
    assert await aabort(queued.job_id) and await aabort(deferred.job_id)
    running = await aenqueue("gated", "gate:never")
    async with background_worker():
        await row_when(running.job_id, status_is(Status.IN_PROGRESS))
        assert await aabort(running.job_id)
        await row_when(running.job_id, status_is(Status.ABORTED))
    for handle in (queued, deferred, running):
        row = await JobResult.objects.aget(job_id=handle.job_id)
        assert row.status == Status.ABORTED and row.error == "aborted", handle
    assert not await aabort(running.job_id)  # no longer queued or running


async def test_deferred_job_runs_when_due(redis_url):
    handle = await aenqueue("add", 3, 4, _defer_by=dt.timedelta(milliseconds=300))
    assert await asyncio.to_thread(flush_rows, 10)  # the enqueue-time rows are buffered
    row = await JobResult.objects.aget(job_id=handle.job_id)
    assert row.status == Status.DEFERRED
    async with background_worker(burst_wait_deferred=True):  # a burst worker leaves deferred jobs otherwise
        pass
    row = await JobResult.objects.aget(job_id=handle.job_id)
    assert row.status == Status.COMPLETE and row.result == 7
    assert row.scheduled_for is not None and row.scheduled_for > row.enqueued_at


async def test_a_plain_arq_producers_job_gets_a_row_at_start(redis_url):
    pool = await create_pool(
        RedisSettings.from_dsn(redis_url), job_serializer=JSON.dumps, job_deserializer=JSON.loads
    )
    job = await pool.enqueue_job("echo", 1, when=dt.date(2020, 1, 2))
    await pool.aclose()
    assert not await JobResult.objects.filter(job_id=job.job_id).aexists()
    async with background_worker():
        pass
    row = await JobResult.objects.aget(job_id=job.job_id)
    assert row.status == Status.COMPLETE and row.function == "echo" and row.queue_name == "arq:queue"
    assert row.kwargs == {"when": {"__arq__": "date", "v": "2020-01-02"}}
    assert row.result == {"args": [1], "kwargs": {"when": {"__arq__": "date", "v": "2020-01-02"}}}


async def test_early_failures_get_rows_too(redis_url, redis_client):
    redis_client.zadd("arq:queue", {"ghost": 1})  # a queued id without a job record
    async with background_worker():
        pass
    row = await JobResult.objects.aget(job_id="ghost")
    assert row.status == Status.FAILED and row.error == "JobExecutionFailed: job expired"


async def test_mirror_on_enqueue_off_leaves_the_row_to_the_worker(redis_url, settings):
    settings.ARQ_DJANGO = {**settings.ARQ_DJANGO, "MIRROR_ON_ENQUEUE": False}
    handle = await aenqueue("add", 1, 2)
    assert not await JobResult.objects.filter(job_id=handle.job_id).aexists()
    async with background_worker():
        pass
    assert (await JobResult.objects.aget(job_id=handle.job_id)).status == Status.COMPLETE


async def test_mirror_off_writes_nothing(redis_url, settings):
    settings.ARQ_DJANGO = {**settings.ARQ_DJANGO, "MIRROR": False}
    handle = await aenqueue("add", 1, 2)
    async with background_worker() as worker:
        pass
    built = [type(extension) for extension in worker.extensions.all]
    assert listener.Mirror not in built and Heartbeat in built  # the worker started, without a mirror
    assert await handle.aresult(timeout=5) == 3
    assert not await JobResult.objects.aexists()


# -- the buffer: failures are kept and retried, the loop never waits ---------------------------------


def ended(job_id: str, outcome: Outcome = Outcome.COMPLETE) -> JobEnd:
    now = dt.datetime.now(dt.UTC)
    return JobEnd(
        job_id=job_id,
        function="add",
        queue_name="arq:queue",
        args=(1,),
        kwargs={},
        job_try=1,
        max_tries=5,
        enqueue_time=now,
        started_at=now,
        finished_at=now,
        worker="w:1",
        outcome=outcome,
        result=1,
    )


async def test_failed_writes_are_kept_and_retried(redis_url, monkeypatch):
    real = listener.upsert
    calls: list[int] = []

    def flaky(rows, using=None):
        rows = list(rows)
        calls.append(len(rows))
        if len(calls) <= 2:
            raise OperationalError("the database is restarting")
        return real(rows, using)

    monkeypatch.setattr(listener, "upsert", flaky)
    mirror = listener.Mirror(flush_interval=0.02, batch_size=500, reconcile_interval=0)
    mirror.start()
    mirror.job_ended(ended("a"))
    await until(lambda: len(calls) >= 2, what="two failed writes")
    mirror.job_ended(ended("b"))  # arrives during the outage, merged with what is carried
    await until(lambda: mirror.rows_written == 2, what="rows written after the outage")
    await mirror.stop()
    assert mirror.failed_flushes == 2 and calls[-1] == 2
    assert sorted([r async for r in JobResult.objects.values_list("job_id", flat=True)]) == ["a", "b"]


async def test_the_carried_rows_are_capped(redis_url, monkeypatch):
    def down(rows, using=None):
        raise OperationalError("down")

    monkeypatch.setattr(listener, "upsert", down)
    monkeypatch.setattr(listener, "MAX_CARRIED_ROWS", 3)
    mirror = listener.Mirror(flush_interval=0.02, reconcile_interval=0)
    mirror.start()
    for i in range(5):
        mirror.job_ended(ended(f"j{i}"))
    await until(lambda: mirror.failed_flushes >= 1, what="a failed write")
    await mirror.stop(timeout=5)
    assert len(mirror._carried) == 3 and mirror._dropped == 2
