"""ListIngester against a real Redis: every message becomes one job, or one dead letter, never neither."""

from __future__ import annotations

import asyncio
import json

import pytest
import redis

from arq_django.connection import aclose_pools
from arq_django.ingest import ListIngester, dead_letters
from arq_django.ingest.ingester import Decision
from arq_django.ingest.message import parse, plan
from arq_django.keys import SourceKeys
from arq_django.worker.settings import create_worker

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

KEYS = SourceKeys("async_tasks")


def mark(i: int, key: str = "runs", **extra: object) -> bytes:
    return json.dumps({"type": "mark", "data": {"key": key, "marker": str(i)}, **extra}).encode()


def leftovers(client: redis.Redis) -> list[bytes]:
    """Processing lists and consumer registrations: none may outlive a stopped ingester."""
    return sorted(k for k in client.keys("async_tasks:*") if k != KEYS.dead.encode())


async def run_worker() -> None:
    worker = create_worker(burst=True, handle_signals=False, poll_delay=0.05, max_jobs=50)
    await worker.async_run()
    await worker.close()


async def test_a_thousand_messages_run_once_and_fifty_malformed_ones_are_dead_lettered(redis_client):
    bad = [b"{not json", b"\xff\xfe", b"[]", b'{"type": "nope"}', b'{"type": "mark", "data": 1}']
    messages = []
    for i in range(1000):
        messages.append(mark(i))
        if i % 20 == 0:
            messages.append(bad[(i // 20) % len(bad)])
    assert len(messages) == 1050
    redis_client.lpush(KEYS.source, *messages)  # a plain redis client, as any producer

    stats = await ListIngester(KEYS.source, max_messages=1050).run()
    assert (stats.taken, stats.enqueued, stats.dead, stats.duplicates) == (1050, 1000, 50, 0)
    assert redis_client.llen(KEYS.source) == 0 and leftovers(redis_client) == []
    assert redis_client.zcard("arq:queue") == 1000

    await run_worker()
    assert int(redis_client.get("runs")) == 1000
    assert redis_client.scard("runs:markers") == 1000
    letters = dead_letters.dead_letters(KEYS.source)
    assert len(letters) == 50 == dead_letters.dead_letter_count(KEYS.source)
    assert {letter.message for letter in letters} == set(bad)
    reasons = {letter.message: letter.reason for letter in letters}
    assert reasons[b"{not json"].startswith("not valid JSON")
    assert reasons[b'{"type": "nope"}'].startswith("unknown type 'nope'")
    assert all(letter.at is not None and letter.source == KEYS.source for letter in letters)
    await aclose_pools()


async def test_messages_are_taken_oldest_first(redis_client):
    for raw in (b"first", b"second", b"third"):
        redis_client.lpush(KEYS.source, raw)  # LPUSH producers, as the old RPOP consumer expected
    await ListIngester(KEYS.source, max_messages=3).run()
    taken = [letter.message for letter in dead_letters.dead_letters(KEYS.source)]
    assert taken == [b"first", b"second", b"third"]
    await aclose_pools()


async def test_a_repeated_job_id_is_enqueued_once(redis_client):
    raw = json.dumps({"type": "add", "args": [1, 2], "options": {"job_id": "order-1"}})
    redis_client.lpush(KEYS.source, raw, raw)
    stats = await ListIngester(KEYS.source, max_messages=2).run()
    assert (stats.enqueued, stats.duplicates) == (1, 1)
    assert redis_client.zrange("arq:queue", 0, -1) == [b"order-1"]
    await aclose_pools()


async def test_identical_messages_without_a_job_id_each_run(redis_client):
    redis_client.lpush(KEYS.source, mark(1), mark(1))
    stats = await ListIngester(KEYS.source, max_messages=2).run()
    assert stats.enqueued == 2
    await run_worker()
    assert int(redis_client.get("runs")) == 2
    await aclose_pools()


async def test_messages_of_a_dead_ingester_are_recovered_and_a_live_ones_are_not(redis_client):
    # "crashed": registered, no heartbeat, two claimed messages; "alive": heartbeat present.
    redis_client.sadd(KEYS.consumers, "crashed", "alive")
    redis_client.lpush(KEYS.processing("crashed"), mark(1), mark(2))
    redis_client.lpush(KEYS.processing("alive"), mark(3))
    redis_client.set(KEYS.heartbeat("alive"), "enqueue", px=60_000)
    redis_client.lpush(KEYS.source, mark(4))

    stats = await ListIngester(KEYS.source, max_messages=3).run()
    assert stats.enqueued == 3
    assert not redis_client.exists(KEYS.processing("crashed"))
    assert redis_client.smembers(KEYS.consumers) == {b"alive"}
    assert redis_client.lrange(KEYS.processing("alive"), 0, -1) == [mark(3)]
    await run_worker()
    assert redis_client.smembers("runs:markers") == {b"1", b"2", b"4"}
    await aclose_pools()


async def test_recovered_messages_keep_their_order(redis_client):
    redis_client.sadd(KEYS.consumers, "crashed")
    redis_client.lpush(KEYS.processing("crashed"), b"a", b"b")  # claimed a, then b
    redis_client.lpush(KEYS.source, b"c")
    await ListIngester(KEYS.source, max_messages=3).run()
    assert [letter.message for letter in dead_letters.dead_letters(KEYS.source)] == [b"a", b"b", b"c"]
    await aclose_pools()


async def test_a_message_no_longer_held_is_not_enqueued(redis_client):
    """An ingester whose lease lapsed cannot enqueue what another ingester already put back."""
    ingester = ListIngester(KEYS.source)
    raw = mark(1)
    _, job_plan = plan(parse(raw), KEYS.source)
    await ingester.commit([Decision(raw, plan=job_plan), Decision(b"junk", reason="bad")])
    assert redis_client.zcard("arq:queue") == 0 and redis_client.llen(KEYS.dead) == 0
    assert ingester.stats().taken == 0
    await aclose_pools()


async def test_a_redis_error_mid_batch_loses_and_duplicates_nothing(redis_client, monkeypatch):
    redis_client.lpush(KEYS.source, *[mark(i) for i in range(10)])
    ingester = ListIngester(KEYS.source, max_messages=10)
    real_commit = ingester.commit
    calls = []

    async def flaky(outcomes):
        calls.append(len(outcomes))
        if len(calls) == 1:
            raise redis.ConnectionError("connection reset")
        await real_commit(outcomes)

    monkeypatch.setattr(ingester, "commit", flaky)
    stats = await ingester.run()
    assert calls[0] == 10 and stats.enqueued == 10
    assert redis_client.zcard("arq:queue") == 10 and leftovers(redis_client) == []
    await aclose_pools()


async def test_stopping_hands_claimed_messages_back_in_order(redis_client, monkeypatch):
    redis_client.lpush(KEYS.source, *[mark(i) for i in range(5)])
    ingester = ListIngester(KEYS.source)

    async def crash_before_commit(raws):
        assert len(raws) == 5 and redis_client.llen(KEYS.source) == 0
        ingester.stop()

    monkeypatch.setattr(ingester, "_process", crash_before_commit)
    stats = await ingester.run()
    assert stats.taken == 0
    assert redis_client.lrange(KEYS.source, 0, -1) == [mark(i) for i in reversed(range(5))]
    assert leftovers(redis_client) == []
    await aclose_pools()


async def test_unreachable_redis_is_waited_out_and_stop_still_works(settings, caplog):
    unreachable = {"REDIS_URL": "redis://127.0.0.1:1/0", "CONNECT_TIMEOUT": 0.2}
    settings.ARQ_DJANGO = {**settings.ARQ_DJANGO, **unreachable}
    ingester = ListIngester(KEYS.source)
    task = asyncio.create_task(ingester.run())
    while "retrying in" not in caplog.text:
        await asyncio.sleep(0.05)
    ingester.stop()
    stats = await asyncio.wait_for(task, 30)
    assert stats.taken == 0 and "redis://127.0.0.1:1/0 failed" in caplog.text
    await aclose_pools()


async def test_a_unique_job_from_the_list_is_queued_once_at_a_time(redis_client):
    raw = json.dumps({"type": "unique_job", "data": {"key": "u", "n": 1}})
    redis_client.lpush(KEYS.source, raw, raw)
    stats = await ListIngester(KEYS.source, max_messages=2).run()
    assert (stats.enqueued, stats.duplicates) == (1, 1)
    (job_id,) = redis_client.zrange("arq:queue", 0, -1)
    assert job_id.startswith(b"unique:unique_job:")
    await aclose_pools()
