"""Finished-job listings read each queue's history index, written with the result in one Lua call."""

from __future__ import annotations

from datetime import timedelta

import pytest
from arq.jobs import serialize_result
from arq.utils import timestamp_ms
from django.utils import timezone

from arq_django import abort, enqueue
from arq_django.ops import history
from arq_django.serializers import get_serializer
from arq_django.worker.finish import HISTORY_MAX, Finish, Finisher, history_key
from tests.conftest import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db]
QUEUE = "arq:queue"


def result(job_id: str, i: int, success: bool = True) -> bytes:
    now = timestamp_ms()
    raw = serialize_result(
        "add",
        (i,),
        {},
        1,
        now - 10,
        success,
        i,
        now - 5,
        now,
        f"{job_id}:add",
        QUEUE,
        job_id,
        serializer=get_serializer().dumps,
    )
    assert raw is not None
    return raw


async def finish_many(redis_url: str, n: int, failed_every: int = 0) -> None:
    from arq.connections import RedisSettings, create_pool

    pool = await create_pool(RedisSettings.from_dsn(redis_url))
    try:
        finisher = Finisher(pool, QUEUE)
        writes = [
            finisher.submit(
                Finish(
                    f"j{i}",
                    True,
                    result(f"j{i}", i, not (failed_every and i % failed_every == 0)),
                    60_000,
                    None,
                    None,
                )
            )
            for i in range(n)
        ]
        for w in writes:
            await w
    finally:
        await pool.aclose(close_connection_pool=True)


async def test_the_finish_call_indexes_kept_results(redis_url, redis_client):
    await finish_many(redis_url, 3)
    assert [m.decode() for m in redis_client.zrange(history_key(QUEUE), 0, -1)] == ["j0", "j1", "j2"]
    assert abs(redis_client.zscore(history_key(QUEUE), "j0") - timestamp_ms()) < 5000
    assert HISTORY_MAX >= history.MAX_SCANNED


async def test_a_listing_decodes_about_what_it_returns(redis_url, monkeypatch):
    """Before: every result record in the keyspace was read and decoded whatever the limit."""
    await finish_many(redis_url, 2000, failed_every=100)
    decoded: list[bytes] = []
    decode = history._decode

    def counting(raw):
        decoded.append(raw)
        return decode(raw)

    monkeypatch.setattr(history, "_decode", counting)
    newest = history.find_results(limit=10)
    assert len(newest) == 10 and len(decoded) <= 20
    decoded.clear()
    failed = history.find_results(status="failed", limit=5)
    assert len(failed) == 5 and {r.status for r in failed} == {"failed"}
    assert len(decoded) < 1000
    assert history.find_results(since=timezone.now() + timedelta(minutes=5)) == []


async def test_expired_results_leave_the_index(redis_url, redis_client):
    await finish_many(redis_url, 3)
    redis_client.delete("arq:result:j1")
    assert [r.job_id for r in history.find_results(limit=None)] == ["j2", "j0"]
    assert redis_client.zscore(history_key(QUEUE), "j1") is None


def test_a_job_aborted_before_it_ran_is_listed(thread_worker, redis_client):
    """arq's finish_failed_job (aborted while queued, expired, out of tries) goes through the same call."""
    waiting = enqueue("add", 1, 2, _defer_by=timedelta(seconds=1))
    assert abort(waiting.job_id)
    thread_worker()
    wait_for(waiting.result_info)
    assert [r.job_id for r in history.find_results(status="aborted")] == [waiting.job_id]
