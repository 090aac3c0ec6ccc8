"""Issue 14, items 1 and 4: no ingest message vanishes or crashes the ingester; in-worker ingestion is
supervised. Real Redis (Lua scripts), no worker process."""

from __future__ import annotations

import asyncio
import io
import json
from typing import Any

import pytest
import redis
from django.core.management import call_command

from arq_django.connection import aclose_pools
from arq_django.health import health_report
from arq_django.ingest import ListIngester, background, dead_letters
from arq_django.ingest.scripts import COMMIT, MOVE_ONE
from arq_django.ingest.supervise import read_down
from arq_django.keys import SourceKeys, wake_key
from tests.conftest import wait_for_async

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

KEYS = SourceKeys("async_tasks")


def add(**options: Any) -> bytes:
    return json.dumps({"type": "add", "args": [1, 2], "options": options}).encode()


async def ingest(n: int) -> Any:
    """Ingest ``n`` messages; a lost message would keep ``run()`` waiting for it (hence the deadline)."""
    try:
        return await asyncio.wait_for(ListIngester(KEYS.source, max_messages=n, block=0.2).run(), 20)
    finally:
        await aclose_pools()


def leftovers(client: redis.Redis) -> list[bytes]:
    return sorted(k for k in client.keys("async_tasks:*") if k != KEYS.dead.encode())


async def test_a_huge_expiry_or_deferral_is_dead_lettered_not_lost(redis_client):
    # ~9.3e15 s: finite, but Redis refuses the TTL; COMMIT used to LREM before its PSETEX failed.
    raws = [add(expires=9.3e15), add(defer_by=9.3e15), add(job_id="fine-1")]
    redis_client.lpush(KEYS.source, *raws)
    stats = await ingest(3)
    assert (stats.taken, stats.enqueued, stats.dead) == (3, 1, 2)
    reasons = {letter.message: letter.reason for letter in dead_letters.dead_letters(KEYS.source)}
    assert set(reasons) == set(raws[:2])
    assert all("finite number of seconds up to 253402300799" in r for r in reasons.values()), reasons
    assert leftovers(redis_client) == [] and redis_client.llen(KEYS.source) == 0
    assert redis_client.zrange("arq:queue", 0, -1) == [b"fine-1"]


def test_commit_leaves_the_message_claimed_when_redis_refuses_the_write(redis_client):
    processing = KEYS.processing("c1")
    redis_client.lpush(processing, b"m1", b"m2")
    script = redis_client.register_script(COMMIT)
    keys = [processing, KEYS.dead]
    args: list[Any] = []
    for raw, job_id, ttl in ((b"m1", "j1", "9223372036854775807"), (b"m2", "j2", "60000")):
        keys += [
            f"arq:job:{job_id}",
            "arq:queue",
            f"arq:job:{job_id}",
            f"arq:result:{job_id}",
            f"arq:job:{job_id}",
            wake_key("arq:queue"),
        ]
        args += ["E", raw, job_id, b"payload", ttl, 1000, 0, 0]
    refused, done = script(keys=keys, args=args)
    assert refused[0] == 3 and b"expire" in refused[1]
    assert done == 1
    assert redis_client.lrange(processing, 0, -1) == [b"m1"]  # the refused one stays claimed
    assert not redis_client.exists("arq:job:j1") and redis_client.zscore("arq:queue", "j1") is None
    assert redis_client.exists("arq:job:j2") and redis_client.zscore("arq:queue", "j2") == 1000


def test_a_refused_requeue_keeps_the_dead_letter(redis_client):
    redis_client.lpush(KEYS.dead, b"entry")
    redis_client.set(KEYS.source, b"not a list")  # LPUSH onto it fails with WRONGTYPE
    script = redis_client.register_script(MOVE_ONE)
    with pytest.raises(redis.ResponseError):
        script(keys=[KEYS.dead, KEYS.source], args=[b"entry", b"message"])
    assert redis_client.lrange(KEYS.dead, 0, -1) == [b"entry"]


MALFORMED = {
    "deep JSON": b'{"type": "add", "data": ' + b"[" * 10_000 + b"]" * 10_000 + b"}",
    "defer_by 1e308": add(defer_by=1e308),
    "defer_by Infinity": b'{"type": "add", "args": [1, 2], "options": {"defer_by": Infinity}}',
    "job_id lone surrogate": b'{"type": "add", "args": [1, 2], "options": {"job_id": "a\\ud800b"}}',
}


async def test_four_malformed_kinds_are_dead_lettered_with_their_reason(redis_client):
    redis_client.lpush(KEYS.source, *MALFORMED.values(), add(job_id="after"))
    stats = await ingest(5)
    assert (stats.taken, stats.enqueued, stats.dead) == (5, 1, 4)
    reasons = {letter.message: letter.reason for letter in dead_letters.dead_letters(KEYS.source)}
    assert "nested too deeply" in reasons[MALFORMED["deep JSON"]]
    assert "finite number of seconds" in reasons[MALFORMED["defer_by 1e308"]]
    assert "finite number of seconds" in reasons[MALFORMED["defer_by Infinity"]]
    assert "lone surrogate" in reasons[MALFORMED["job_id lone surrogate"]]
    assert redis_client.zrange("arq:queue", 0, -1) == [b"after"]
    assert leftovers(redis_client) == []


async def test_the_in_worker_ingester_is_restarted_and_reported_down_meanwhile(
    redis_client, settings, monkeypatch
):
    settings.ARQ_DJANGO = {**settings.ARQ_DJANGO, "LIST_SOURCES": ["async_tasks"]}
    crashes = 0
    original = ListIngester._process

    async def crash_twice(self: ListIngester, raws: list[bytes]) -> None:
        nonlocal crashes
        if crashes < 2:
            crashes += 1
            raise RuntimeError("a bug")
        await original(self, raws)

    monkeypatch.setattr(ListIngester, "_process", crash_twice)
    redis_client.lpush(KEYS.source, add(job_id="survivor"))
    ingestion = background.ListIngestion()
    await ingestion.start(None)
    try:
        await wait_for_async(lambda: asyncio.to_thread(read_down, redis_client, KEYS.source), timeout=10)
        report = (await asyncio.to_thread(health_report)).as_dict()
        assert report["checks"]["ingest"]["ok"] is False
        assert "RuntimeError" in report["checks"]["ingest"]["error"]
        out = io.StringIO()
        await asyncio.to_thread(call_command, "arq_status", stdout=out)
        assert "(RuntimeError)" in out.getvalue() and "async_tasks" in out.getvalue()
        # Restarted: the claimed message was recovered and enqueued, and the record is cleared.
        await wait_for_async(
            lambda: asyncio.to_thread(redis_client.zscore, "arq:queue", "survivor"), timeout=20
        )
        await wait_for_async(lambda: _none_down(redis_client), timeout=10)
        assert crashes == 2
        assert (await asyncio.to_thread(health_report)).as_dict()["checks"]["ingest"]["ok"] is True
    finally:
        await ingestion.stop()
        await aclose_pools()
    assert leftovers(redis_client) == []


async def _none_down(client: redis.Redis) -> bool:
    return not await asyncio.to_thread(read_down, client, KEYS.source)
