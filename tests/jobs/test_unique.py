"""Unique jobs: one pending job per (job, arguments); ``unique_for`` keeps the id taken after it ends."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured

from arq_django import enqueue, job
from arq_django.jobs.registry import registry
from arq_django.jobs.unique import marker_key, unique_job_id
from arq_django.worker.settings import create_worker
from tests.conftest import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


async def drain() -> None:
    worker = create_worker(burst=True, handle_signals=False, poll_delay=0.02)
    await worker.async_run()
    await worker.close()


def test_id_is_a_stable_hash_of_name_and_arguments():
    a = unique_job_id("j", (1, "x"), {"b": 2, "a": {"z": 1, "y": [1, 2]}})
    b = unique_job_id("j", [1, "x"], {"a": {"y": [1, 2], "z": 1}, "b": 2})  # type: ignore[arg-type]
    assert a == b and a.startswith("unique:j:") and len(a) == len("unique:j:") + 64
    assert unique_job_id("j", (), {"s": {"b", "a", "c"}}) == unique_job_id("j", (), {"s": {"c", "a", "b"}})
    assert unique_job_id("j", (Decimal("1.0"),), {}) != unique_job_id("j", (1.0,), {})
    assert unique_job_id("j", (1,), {}) != unique_job_id("j", (2,), {})
    assert unique_job_id("j", (1,), {}) != unique_job_id("k", (1,), {})


def test_unique_for_needs_unique():
    with pytest.raises(ImproperlyConfigured, match=r"'u_bad'.*unique_for= needs unique=True"):
        job("u_bad", unique_for=10)(drain)


async def test_same_call_is_not_queued_twice_while_pending(redis_url, redis_client):
    first = enqueue("unique_job", "u:runs", 1)
    assert first is not None and first.job_id == unique_job_id("unique_job", ("u:runs", 1), {})
    assert enqueue("unique_job", "u:runs", 1) is None
    assert enqueue("unique_job", key="u:runs", n=1) is not None  # a different call (kwargs, not args)
    other = enqueue("unique_job", "u:runs", 2)
    assert other is not None
    await drain()
    assert int(redis_client.get("u:runs")) == 3
    assert first.result(timeout=5) == 1
    # Done, and no unique_for: the same call may be queued again; the old result is replaced.
    again = enqueue("unique_job", "u:runs", 1)
    assert again is not None and again.job_id == first.job_id
    assert first.result_info() is None
    await drain()
    assert int(redis_client.get("u:runs")) == 4


def test_concurrent_enqueue_from_eight_threads_queues_exactly_one(redis_url, redis_client):
    barrier = threading.Barrier(8)
    results: list[object] = []

    def produce() -> None:
        barrier.wait()
        results.append(enqueue("unique_job", "u:threads", 42))

    for _round in range(5):
        redis_client.flushdb()
        results.clear()
        threads = [threading.Thread(target=produce) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(results) == 8
        assert sum(r is not None for r in results) == 1
        assert redis_client.zcard("arq:queue") == 1


async def test_unique_for_keeps_the_id_taken_after_the_job_ends(redis_url, redis_client):
    assert enqueue("unique_window", "uw:runs") is not None
    await drain()
    assert int(redis_client.get("uw:runs")) == 1
    assert enqueue("unique_window", "uw:runs") is None  # within the 30 s window
    job_id = unique_job_id("unique_window", ("uw:runs",), {})
    assert 25_000 < redis_client.pttl(marker_key(job_id)) <= 30_000


async def test_unique_for_window_expires(redis_url, redis_client):
    @job("unique_short", unique=True, unique_for=dt.timedelta(seconds=0.5))
    async def handler(ctx, key):
        await ctx["redis"].incr(key)

    try:
        assert enqueue("unique_short", "us:runs") is not None
        await drain()
        assert enqueue("unique_short", "us:runs") is None
        assert wait_for(lambda: enqueue("unique_short", "us:runs"), timeout=10)
    finally:
        registry.remove("unique_short")


def test_explicit_job_id_keeps_arq_meaning(redis_url):
    assert enqueue("unique_job", "u:x", 1, _job_id="mine") is not None
    assert enqueue("unique_job", "u:x", 1, _job_id="mine") is None
    assert enqueue("unique_job", "u:x", 1) is not None  # the derived id is a different id


async def test_same_call_is_not_queued_while_running(redis_url, redis_client):
    release = asyncio.Event()

    @job("unique_running", unique=True)
    async def handler(ctx, key):
        await ctx["redis"].set(f"{key}:started", 1)
        await release.wait()

    worker = create_worker(handle_signals=False, poll_delay=0.02)
    task = asyncio.create_task(worker.async_run())
    try:
        handle = enqueue("unique_running", "ur")
        async with asyncio.timeout(20):
            while not redis_client.exists("ur:started"):
                await asyncio.sleep(0.02)
        assert enqueue("unique_running", "ur") is None  # running
        release.set()
        await handle.aresult(timeout=20)
        assert enqueue("unique_running", "ur") is not None  # ended: free again
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await worker.close()
        registry.remove("unique_running")
