"""The enqueue script (arq_django.client.write) against a real Redis: what it writes is arq's own job,
key for key, so plain arq producers and workers interoperate with ours both ways; guarded ids are
checked inside the script; NOSCRIPT after SCRIPT FLUSH is recovered."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis
from arq.connections import RedisSettings, create_pool
from arq.jobs import Job
from arq.worker import Worker, func

from arq_django import aenqueue, embedded, enqueue
from arq_django.client import write
from arq_django.connection import aclose, aclose_pools, close_sync_clients
from arq_django.keys import job_key_prefix, result_key_prefix, wake_key
from arq_django.serializers import get_serializer
from arq_django.worker.settings import create_worker

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
QUEUE = "arq:queue"


async def arq_pool(redis_url: str) -> Any:
    serializer = get_serializer()
    return await create_pool(
        RedisSettings.from_dsn(redis_url), job_serializer=serializer.dumps, job_deserializer=serializer.loads
    )


def describe(client: redis.Redis, job_id: str) -> dict[str, Any]:
    """What Redis holds for one job, in the form that must match arq's."""
    raw = client.get(job_key_prefix + job_id)
    assert raw is not None
    record = get_serializer().loads(raw)
    return {
        "record_keys": list(record),
        "record": {k: v for k, v in record.items() if k != "et"},
        "type": client.type(job_key_prefix + job_id),
        "score_minus_et": client.zscore(QUEUE, job_id) - record["et"],
        "ttl_minus_delay_s": round((client.pttl(job_key_prefix + job_id) - 60_000) / 1000 / 60),  # minutes
    }


async def test_our_record_score_and_ttl_have_arqs_form(redis_url, redis_client) -> None:
    pool = await arq_pool(redis_url)
    try:
        theirs = await pool.enqueue_job("add", 1, 2, _defer_by=60)
    finally:
        await aclose(pool, close_connection_pool=True)
    assert theirs is not None
    ours = enqueue("add", 1, 2, _defer_by=60)
    assert ours is not None
    assert describe(redis_client, ours.job_id) == describe(redis_client, theirs.job_id)
    assert redis_client.pttl(job_key_prefix + ours.job_id) > 86_400_000  # arq's expires: run-at + 1 day
    assert len(ours.job_id) == len(theirs.job_id) == 32
    assert redis_client.llen(wake_key(QUEUE)) == 1  # ours adds the wake token; arq's leaves it alone


async def test_our_enqueue_is_run_by_a_plain_arq_worker(redis_url) -> None:
    ran: list[tuple[int, int]] = []

    async def add(ctx: dict[str, Any], a: int, b: int) -> int:
        ran.append((a, b))
        return a + b

    handle = await aenqueue("add", 2, 3)
    sync_handle = await asyncio.to_thread(enqueue, "add", 4, 5)
    assert handle is not None and sync_handle is not None
    serializer = get_serializer()
    worker = Worker(
        functions=[func(add, name="add")],
        redis_settings=RedisSettings.from_dsn(redis_url),
        burst=True,
        poll_delay=0.02,
        handle_signals=False,
        job_serializer=serializer.dumps,
        job_deserializer=serializer.loads,
    )
    try:
        await worker.main()
        job = Job(handle.job_id, worker.pool, _deserializer=serializer.loads)
        assert await job.result(timeout=5) == 5
    finally:
        await worker.close()
        await aclose_pools()
    assert sorted(ran) == [(2, 3), (4, 5)]


async def test_a_plain_arq_producers_job_is_run_by_our_worker(redis_url, redis_client) -> None:
    pool = await arq_pool(redis_url)
    try:
        job = await pool.enqueue_job("add", 20, 22)
        assert job is not None
        worker = create_worker(burst=True, handle_signals=False, poll_delay=0.02)
        try:
            await worker.main()
        finally:
            await worker.close()
        assert await job.result(timeout=5) == 42
    finally:
        await aclose(pool, close_connection_pool=True)
        await aclose_pools()


def test_a_taken_id_returns_none_and_writes_nothing(redis_url, redis_client) -> None:
    first = enqueue("add", 1, 2, _job_id="fixed-id")
    assert first is not None
    record = redis_client.get(job_key_prefix + "fixed-id")
    assert enqueue("add", 3, 4, _job_id="fixed-id") is None
    assert redis_client.get(job_key_prefix + "fixed-id") == record
    redis_client.set(result_key_prefix + "done-id", b"x")  # a kept result holds its id too (arq's rule)
    assert enqueue("add", 1, 2, _job_id="done-id") is None
    assert not redis_client.exists(job_key_prefix + "done-id")
    assert redis_client.zcard(QUEUE) == 1


async def test_a_pending_unique_job_returns_none_both_ways(redis_url, redis_client) -> None:
    first = enqueue("unique_job", "k", 1)
    assert first is not None
    assert enqueue("unique_job", "k", 1) is None
    assert await aenqueue("unique_job", "k", 1) is None
    assert redis_client.zcard("arq:queue") == 1


@pytest.fixture
def own_redis(settings) -> Any:
    """A Redis server of the test's own: SCRIPT FLUSH empties a whole server's script cache."""
    server = embedded.start(port=embedded.free_port())
    settings.ARQ_DJANGO = {**settings.ARQ_DJANGO, "REDIS_URL": server.url}
    try:
        yield redis.Redis.from_url(server.url)
    finally:
        close_sync_clients()
        server.stop()


async def test_noscript_after_script_flush_is_recovered(own_redis) -> None:
    assert await asyncio.to_thread(enqueue, "add", 1, 2) is not None
    assert own_redis.script_exists(write.SHA) == [True]  # EVALSHA failed once, EVAL loaded it
    own_redis.script_flush()
    assert await asyncio.to_thread(enqueue, "add", 3, 4) is not None
    own_redis.script_flush()
    try:
        assert await aenqueue("add", 5, 6) is not None
    finally:
        await aclose_pools()
    assert own_redis.zcard("arq:queue") == 3
    assert own_redis.script_exists(write.SHA) == [True]
