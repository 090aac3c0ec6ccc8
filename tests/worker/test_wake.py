"""Wake signals: written with every job, capped, consumed by an armed listener, passed on by a full one."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis
from arq.connections import ArqRedis, RedisSettings, create_pool

from arq_django import aenqueue, enqueue
from arq_django.connection import aclose
from arq_django.worker.wake import WAKE_CAP, WakeListener, wake_key
from tests.conftest import wait_for_async

pytestmark = pytest.mark.integration
KEY = wake_key("arq:queue")


@pytest.fixture
async def pool(redis_url: str) -> AsyncIterator[ArqRedis]:
    pool = await create_pool(RedisSettings.from_dsn(redis_url))
    yield pool
    await aclose(pool, close_connection_pool=True)


def test_enqueue_signals_in_the_same_transaction(redis_url: str, redis_client: redis.Redis) -> None:
    enqueue("add", 1, 2)
    assert redis_client.llen(KEY) == 1
    enqueue("add", 1, 2, _job_id="chosen")  # the guarded (WATCH) path signals too
    assert redis_client.llen(KEY) == 2
    assert enqueue("add", 1, 2, _job_id="chosen") is None  # nothing written, no signal either
    assert redis_client.llen(KEY) == 2


def test_signals_do_not_pile_up_without_a_worker(redis_url: str, redis_client: redis.Redis) -> None:
    for i in range(10_000):
        enqueue("add", i, 1)
    assert redis_client.zcard("arq:queue") == 10_000
    assert redis_client.llen(KEY) == WAKE_CAP


async def test_armed_listener_wakes_once_per_token(pool: ArqRedis, redis_client: redis.Redis) -> None:
    wakes: list[int] = []
    listener = WakeListener(pool, "arq:queue", lambda: wakes.append(1))
    listener.arm()
    try:
        await aenqueue("add", 1, 1)
        await wait_for_async(lambda: _value(len(wakes) == 1))
        assert redis_client.llen(KEY) == 0
    finally:
        await listener.close()


async def test_disarmed_listener_passes_a_token_on(pool: ArqRedis, redis_client: redis.Redis) -> None:
    """A worker that filled up while its BLPOP was in flight hands the token to another worker."""
    wakes: list[int] = []
    listener = WakeListener(pool, "arq:queue", lambda: wakes.append(1))
    listener.arm()
    try:
        await wait_for_async(lambda: _blocked(redis_client))
        listener.disarm()
        await aenqueue("add", 1, 1)
        await wait_for_async(lambda: _value(redis_client.llen(KEY) == 1))
        assert wakes == []
    finally:
        await listener.close()


async def _value(value: object) -> object:
    return value


async def _blocked(client: redis.Redis) -> bool:
    db = str(client.connection_pool.connection_kwargs.get("db", 0))
    return any(
        c.get("cmd") == "blpop" and "b" in c.get("flags", "") and str(c.get("db")) == db
        for c in client.client_list()
    )
