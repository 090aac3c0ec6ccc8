"""Priority shifts a job's score: higher runs first among ready jobs, within the documented bounds."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from arq.utils import timestamp_ms
from django.core.exceptions import ImproperlyConfigured

from arq_django import enqueue, job
from arq_django.jobs.registry import registry
from arq_django.worker.settings import create_worker


def test_score_is_run_at_minus_priority_steps(fake_redis):
    at = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    at_ms = round(at.timestamp() * 1000)
    high = enqueue("add", 1, 2, _defer_until=at, _priority=10)
    low = enqueue("add", 1, 2, _defer_until=at, _priority=-100)
    plain = enqueue("add", 1, 2, _defer_until=at)
    assert fake_redis.zscore("arq:queue", high.job_id) == at_ms - 1000  # 10 steps of 0.1 s
    assert fake_redis.zscore("arq:queue", low.job_id) == at_ms + 10_000
    assert fake_redis.zscore("arq:queue", plain.job_id) == at_ms  # priority 0 is arq's own score


def test_step_is_a_setting(settings, fake_redis):
    settings.ARQ_DJANGO = {**settings.ARQ_DJANGO, "PRIORITY_STEP": dt.timedelta(seconds=1)}
    before = timestamp_ms()
    handle = enqueue("add", 1, 2, _priority=3)
    assert before - 3000 <= fake_redis.zscore("arq:queue", handle.job_id) <= timestamp_ms() - 3000


@pytest.mark.parametrize("bad", [101, -101, 1.5, True, "1"])
def test_invalid_priority_is_value_error_at_enqueue(fake_redis, bad):
    expected = r"enqueue\('add'\): priority must be a whole number from -100 to 100"
    with pytest.raises(ValueError, match=expected):
        enqueue("add", 1, 2, _priority=bad)
    assert fake_redis.zcard("arq:queue") == 0


def test_job_default_priority_and_override(fake_redis):
    @job("prio_default", priority=50)
    async def handler(ctx):
        return None

    try:
        now = dt.datetime.now(dt.UTC)
        now_ms = round(now.timestamp() * 1000)
        default = enqueue("prio_default", _defer_until=now)
        override = enqueue("prio_default", _defer_until=now, _priority=-5)
        assert fake_redis.zscore("arq:queue", default.job_id) == now_ms - 5000
        assert fake_redis.zscore("arq:queue", override.job_id) == now_ms + 500
        with pytest.raises(ImproperlyConfigured, match=r"'prio_bad'.*priority"):
            job("prio_bad", priority=200)(handler)
    finally:
        registry.remove("prio_default")


def test_guarantee_boundaries(fake_redis):
    """A priority step is worth 0.1 s of waiting, no more: an old enough backlog still runs first."""
    now = dt.datetime.now(dt.UTC)
    old_plain = enqueue("add", 0, 0, _defer_until=now - dt.timedelta(seconds=20))
    recent_plain = enqueue("add", 0, 0, _defer_until=now - dt.timedelta(seconds=5))
    urgent = enqueue("add", 0, 0, _defer_until=now, _priority=100)  # scored 10 s earlier
    order = [m.decode() for m in fake_redis.zrange("arq:queue", 0, -1)]
    assert order == [old_plain.job_id, urgent.job_id, recent_plain.job_id]


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
async def test_hundred_ready_jobs_run_in_priority_order(redis_url, redis_client):
    rng = random.Random(4)
    priorities = [rng.randint(-100, 100) for _ in range(100)]
    due = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)  # all ready, all due at the same moment
    for i, p in enumerate(priorities):
        enqueue("record", "prio:order", f"{p}:{i}", _defer_until=due, _priority=p)
    worker = create_worker(burst=True, handle_signals=False, poll_delay=0.02, max_jobs=1)
    await worker.async_run()
    await worker.close()
    ran = [int(tag.split(b":")[0]) for tag in redis_client.lrange("prio:order", 0, -1)]
    assert len(ran) == 100
    assert ran == sorted(priorities, reverse=True)


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
async def test_jobs_enqueued_now_overtake_by_priority(redis_url, redis_client):
    """Enqueued one after another (well within 5 s), 0 / 50 / 100 come out in priority groups."""
    priorities = [0, 100, 50] * 10
    for i, p in enumerate(priorities):
        enqueue("record", "prio:now", f"{p}:{i}", _priority=p)
    worker = create_worker(burst=True, handle_signals=False, poll_delay=0.02, max_jobs=1)
    await worker.async_run()
    await worker.close()
    ran = [int(tag.split(b":")[0]) for tag in redis_client.lrange("prio:now", 0, -1)]
    assert ran == [100] * 10 + [50] * 10 + [0] * 10
