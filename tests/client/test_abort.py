"""Abort: a queued or deferred job never runs, a running one is cancelled; all end ``aborted``."""

from __future__ import annotations

import asyncio

import pytest
from arq.constants import abort_jobs_ss

from arq_django import aabort, abort, enqueue
from arq_django.worker.events import JobEnd, Outcome
from arq_django.worker.settings import create_worker
from tests.conftest import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


class Ends:
    def __init__(self) -> None:
        self.events: dict[str, JobEnd] = {}

    def job_started(self, event) -> None:
        pass

    def job_ended(self, event: JobEnd) -> None:
        self.events[event.job_id] = event


async def drain(queue: str | None = None) -> Ends:
    worker = create_worker(queue, burst=True, handle_signals=False, poll_delay=0.02)
    ends = Ends()
    worker.add_listener(ends)
    await worker.async_run()
    await worker.close()
    return ends


def ended_aborted(handle) -> bool:
    info = handle.result_info()
    return info is not None and not info.success and isinstance(info.result, asyncio.CancelledError)


async def test_queued_and_deferred_jobs_never_run(redis_url, redis_client):
    queued = enqueue("count", "ab:queued")
    deferred = enqueue("count", "ab:deferred", _defer_by=3600)
    kept = enqueue("count", "ab:kept")
    assert queued.abort() is True
    assert await deferred.aabort() is True
    # The deferred job is moved to the front, so a worker ends it now rather than in an hour.
    assert redis_client.zscore("arq:queue", deferred.job_id) == 1
    ends = await drain()  # burst: returns only once the queue, deferred job included, is empty
    assert redis_client.get("ab:queued") is None and redis_client.get("ab:deferred") is None
    assert int(redis_client.get("ab:kept")) == 1 and kept.result(timeout=5) == kept.job_id
    for handle in (queued, deferred):
        assert ends.events[handle.job_id].outcome is Outcome.ABORTED
        assert ends.events[handle.job_id].error == "aborted"
        assert ended_aborted(handle)
    assert redis_client.zcard(abort_jobs_ss) == 0


async def test_nothing_to_abort(redis_url):
    assert abort("no-such-job") is False
    assert await aabort("no-such-job", wait=0.1) is False
    done = enqueue("add", 1, 1)
    await drain()
    assert done.abort() is False  # finished jobs stay complete


async def test_abort_finds_the_queue_of_a_routed_job(redis_url, redis_client):
    handle = enqueue("mail_job", 1)
    assert abort(handle.job_id) is True  # no queue given: found in "mail"
    assert redis_client.zscore(abort_jobs_ss, handle.job_id) is not None
    ends = await drain("mail")
    assert ends.events[handle.job_id].outcome is Outcome.ABORTED
    assert redis_client.llen("ran:mail") == 0


def test_running_job_is_cancelled_on_a_worker_process(start_worker, redis_client):
    worker = start_worker()
    handle = enqueue("wait_forever", "ab:running")
    wait_for(lambda: redis_client.exists("ab:running:started"), timeout=20)
    assert handle.abort(wait=20) is True
    assert ended_aborted(handle)
    assert redis_client.get("ab:running:finished") is None
    assert redis_client.zscore("arq:queue", handle.job_id) is None  # not re-queued
    after = enqueue("add", 2, 3)
    assert after.result(timeout=20) == 5  # the worker goes on
    assert "aborted" in worker.output()


async def test_running_job_is_cancelled_in_process(redis_url, redis_client):
    worker = create_worker(handle_signals=False, poll_delay=0.02)
    ends = Ends()
    worker.add_listener(ends)
    task = asyncio.create_task(worker.async_run())
    try:
        handle = enqueue("wait_forever", "ab:inproc")
        async with asyncio.timeout(20):
            while not redis_client.exists("ab:inproc:started"):
                await asyncio.sleep(0.02)
        assert await handle.aabort(wait=20) is True
        assert ends.events[handle.job_id].outcome is Outcome.ABORTED
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await worker.close()
