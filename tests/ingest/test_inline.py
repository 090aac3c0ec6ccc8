"""InlineIngester: list messages run in-process, at most ``max_concurrent`` at once, acked after running."""

from __future__ import annotations

import asyncio
import json

import pytest

from arq_django.connection import aclose_pools
from arq_django.ingest import InlineIngester, ListIngester, dead_letters
from arq_django.keys import SourceKeys

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

KEYS = SourceKeys("async_tasks")


def push(client, *messages: dict) -> None:
    client.lpush(KEYS.source, *[json.dumps(m) for m in messages])


async def test_jobs_run_with_bounded_concurrency(redis_client):
    push(
        redis_client,
        *[{"type": "mark", "data": {"key": "k", "marker": f"{i}", "seconds": 0.5}} for i in range(9)],
    )
    ingester = InlineIngester(KEYS.source, max_concurrent=3, max_messages=9)
    stats = await ingester.run()
    assert (stats.taken, stats.ran, stats.failed) == (9, 9, 0)
    assert int(redis_client.get("k")) == 9 and redis_client.scard("k:markers") == 9
    levels = [int(n) for n in redis_client.lrange("k:levels", 0, -1)]
    assert max(levels) == 3 == ingester.peak  # never more than three at once, and it did use three
    assert redis_client.keys("async_tasks*") == []
    await aclose_pools()


async def test_sync_handlers_run_in_threads_with_an_arq_like_ctx(redis_client):
    push(
        redis_client,
        {"type": "sync_count", "data": {"key": "s"}},
        {"type": "sync_count", "data": {"key": "s"}, "options": {"job_id": "mine"}},
    )
    stats = await InlineIngester(KEYS.source, max_concurrent=2, max_messages=2).run()
    assert stats.ran == 2
    ids = {i.decode() for i in redis_client.smembers("s:ids")}
    assert "mine" in ids and any(i.startswith("list:async_tasks:") for i in ids)
    await aclose_pools()


async def test_failed_and_timed_out_jobs_are_dead_lettered(redis_client, settings):
    settings.ARQ_DJANGO = {**settings.ARQ_DJANGO, "JOB_TIMEOUT": 0.2}
    push(
        redis_client,
        {"type": "boom", "data": {"message": "kaput"}},
        {"type": "count", "data": {"key": "slow", "seconds": 5}},
        {"type": "nope"},
    )
    stats = await InlineIngester(KEYS.source, max_concurrent=3, max_messages=3).run()
    assert (stats.taken, stats.ran, stats.failed, stats.dead) == (3, 0, 2, 3)
    reasons = sorted(letter.reason for letter in dead_letters.dead_letters(KEYS.source))
    assert "failed: ValueError: kaput" in reasons[0]
    assert "timed out after 0.2s" in reasons[1]
    assert reasons[2].startswith("unknown type 'nope'")
    await aclose_pools()


async def test_stopping_with_jobs_running_puts_their_messages_back(redis_client, settings):
    settings.ARQ_DJANGO = {**settings.ARQ_DJANGO, "JOB_COMPLETION_WAIT": 0.1}
    push(redis_client, {"type": "count", "data": {"key": "slow", "seconds": 5}})
    ingester = InlineIngester(KEYS.source, max_concurrent=1, block=0.1)

    async def stop_once_running(raws):
        await original(raws)
        ingester.stop()

    original = ingester._process
    ingester._process = stop_once_running  # type: ignore[method-assign]
    stats = await ingester.run()
    assert stats.ran == 0 and redis_client.get("slow") is None
    assert redis_client.llen(KEYS.source) == 1  # back on the list, to run again
    assert redis_client.keys("async_tasks:*") == []
    await aclose_pools()


async def test_a_job_longer_than_the_lease_keeps_its_claim(redis_client):
    """The heartbeat runs while jobs do: another ingester must not recover a message whose job is running."""
    push(redis_client, {"type": "count", "data": {"key": "slow", "seconds": 3}})
    inline = InlineIngester(KEYS.source, max_concurrent=1, max_messages=1, lease=1.5, block=0.2)
    running = asyncio.create_task(inline.run())
    while not redis_client.llen(KEYS.processing(inline.consumer)):
        await asyncio.sleep(0.01)
    other = ListIngester(KEYS.source, lease=1, block=0.2)
    watching = asyncio.create_task(other.run())
    stats = await asyncio.wait_for(running, 30)
    other.stop()
    assert (await watching).taken == 0
    assert stats.ran == 1 and redis_client.get("slow") == b"1"
    assert redis_client.zcard("arq:queue") == 0
    await aclose_pools()


async def test_retry_policies_apply_inline(redis_client):
    push(
        redis_client,
        {"type": "flaky_then_ok", "data": {"key": "tries", "failures": 1}},
        {"type": "flaky_then_ok", "data": {"key": "gives-up", "failures": 5}},
    )
    stats = await InlineIngester(KEYS.source, max_concurrent=2, max_messages=2).run()
    assert (stats.ran, stats.failed) == (1, 1)
    assert redis_client.lrange("tries", 0, -1) == [b"1", b"2"]
    assert redis_client.lrange("gives-up", 0, -1) == [b"1", b"2", b"3"]  # max_tries=3
    (letter,) = dead_letters.dead_letters(KEYS.source)
    assert "failed: ConnectionError: not yet" in letter.reason
    await aclose_pools()
