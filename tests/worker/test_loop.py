"""The fast main loop: exactly once next to a plain arq worker, deferred jobs on time, plain producers
within ``poll_delay``, wake-ups, ``max_jobs``, burst mode, retries and cron.

Workers run in-process as tasks on the test's loop, so the test waits with ``wait_for_async``.
Timing assertions use the issue's bounds but look at several jobs, so one job delayed by a busy CI
machine cannot fail them on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from collections.abc import AsyncIterator
from typing import Any

import arq.worker
import pytest
import redis
from arq import cron
from arq.connections import ArqRedis, RedisSettings, create_pool
from arq.jobs import Job
from arq.worker import func

from arq_django import JobFailed, aenqueue, enqueue
from arq_django.connection import aclose, aclose_pools
from arq_django.serializers import JSON
from arq_django.worker.settings import create_worker
from arq_django.worker.wake import wake_key
from tests.conftest import wait_for_async
from tests.jobs_app.jobs import count

pytestmark = pytest.mark.integration
QUEUE = "arq:queue"


@contextlib.asynccontextmanager
async def serving(*workers: arq.worker.Worker) -> AsyncIterator[None]:
    """Run ``workers`` as tasks; close them (and the loop's enqueue pool) afterwards."""
    tasks = [asyncio.create_task(worker.async_run()) for worker in workers]
    try:
        yield
    finally:
        for worker in workers:
            await worker.close()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await aclose_pools()


@pytest.fixture
async def producer(redis_url: str) -> AsyncIterator[ArqRedis]:
    """A plain arq producer: writes jobs without a wake signal."""
    pool = await create_pool(
        RedisSettings.from_dsn(redis_url), job_serializer=JSON.dumps, job_deserializer=JSON.loads
    )
    yield pool
    await aclose(pool, close_connection_pool=True)


def stamps(client: redis.Redis, key: str) -> dict[str, tuple[float, int]]:
    """job id → (started, score ms) as recorded by the ``stamp`` job."""
    raw: dict[bytes, bytes] = client.hgetall(key)  # type: ignore[assignment]
    out = {}
    for job_id, value in raw.items():
        started, score = value.decode().split()
        out[job_id.decode()] = (float(started), int(score))
    return out


async def test_with_a_plain_arq_worker_every_job_runs_exactly_once(
    redis_url: str, redis_client: redis.Redis, producer: ArqRedis
) -> None:
    ours = create_worker(handle_signals=False)
    plain = arq.worker.Worker(
        functions=[func(count, name="count")],
        queue_name=QUEUE,
        redis_settings=RedisSettings.from_dsn(redis_url),
        job_serializer=JSON.dumps,
        job_deserializer=JSON.loads,
        poll_delay=0.05,
        handle_signals=False,
    )

    async def from_us(n: int) -> None:
        for _ in range(n):
            await aenqueue("count", "mixed")

    async def from_arq(n: int) -> None:
        for _ in range(n):
            await producer.enqueue_job("count", "mixed")

    async def all_done() -> bool:
        ran = int(redis_client.get("mixed") or 0)  # type: ignore[arg-type]
        return ran >= 5000 and not redis_client.zcard(QUEUE) and not ours.tasks and not plain.tasks

    async def plain_started() -> bool:
        return plain.jobs_complete >= 100

    # Half the jobs are queued first. Our worker claims so much faster that a plain arq worker started
    # with it finds every id it reads already taken, so the plain one starts first; then ours joins and
    # the other half arrives while both race for the same ids.
    await asyncio.gather(from_us(1250), from_arq(1250))
    async with serving(plain):
        await wait_for_async(plain_started, timeout=60)
        async with serving(ours):
            await asyncio.gather(from_us(1250), from_arq(1250))
            await wait_for_async(all_done, timeout=120)
    assert int(redis_client.get("mixed") or 0) == 5000  # type: ignore[arg-type]
    assert redis_client.scard("mixed:ids") == 5000
    assert ours.jobs_complete + plain.jobs_complete == 5000
    assert ours.jobs_complete > 0 and plain.jobs_complete > 0, (ours.jobs_complete, plain.jobs_complete)
    assert not redis_client.keys("arq:in-progress:*")


async def test_deferred_jobs_start_within_50_ms_of_their_time(
    redis_url: str, redis_client: redis.Redis, producer: ArqRedis
) -> None:
    worker = create_worker(handle_signals=False)  # POLL_DELAY 0.5 s: the timers must do better
    async with serving(worker):
        for delay in (0.3, 0.45, 0.6, 0.75, 0.9, 1.05):
            await aenqueue("stamp", "deferred", _defer_by=delay)
        # Plain arq producers send no signal: the worker learns of these from its next timer poll
        # (they are due after poll_delay) and then starts them at their time.
        for delay in (0.8, 0.95, 1.1, 1.25):
            await producer.enqueue_job("stamp", "deferred", _defer_by=delay)
        await wait_for_async(lambda: _value(len(stamps(redis_client, "deferred")) == 10), timeout=30)
    late = sorted(started - score / 1000 for started, score in stamps(redis_client, "deferred").values())
    assert late[0] >= -0.001, late  # never early (scores are whole milliseconds)
    assert statistics.median(late) <= 0.05, late
    assert sum(x <= 0.05 for x in late) >= 8, late
    assert late[-1] < 1.0, late


async def test_jobs_from_plain_arq_producers_start_within_poll_delay(
    redis_url: str, redis_client: redis.Redis, producer: ArqRedis
) -> None:
    poll_delay = 0.3
    worker = create_worker(handle_signals=False, poll_delay=poll_delay)
    waits = []
    async with serving(worker):
        for _ in range(5):
            sent = time.time()
            job = await producer.enqueue_job("stamp", "plain")
            assert job is not None
            await wait_for_async(lambda j=job.job_id: _value(redis_client.hexists("plain", j)), timeout=10)
            waits.append(stamps(redis_client, "plain")[job.job_id][0] - sent)
        assert redis_client.llen(wake_key(QUEUE)) == 0  # these producers sent no signal
    # poll_delay plus a little room for a loaded CI machine to schedule the poll.
    assert max(waits) <= poll_delay + 0.1, waits


async def test_enqueue_wakes_an_idle_worker_long_before_poll_delay(
    redis_url: str, redis_client: redis.Redis
) -> None:
    worker = create_worker(handle_signals=False, poll_delay=5)
    waits = []
    async with serving(worker):
        for _ in range(5):
            sent = time.time()
            handle = await aenqueue("stamp", "woken")
            assert handle is not None
            await wait_for_async(lambda j=handle.job_id: _value(redis_client.hexists("woken", j)), timeout=10)
            waits.append(stamps(redis_client, "woken")[handle.job_id][0] - sent)
    assert max(waits) < 1.0, waits  # well under the 5 s poll_delay: the signal woke the worker


async def test_a_woken_worker_claims_in_the_round_trip_that_woke_it(
    redis_url: str, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An idle worker's blocking read carries its claim: announced jobs start with no claim of the
    loop's own (that would be a second round trip after the wake-up)."""
    from arq_django.worker import claim

    loop_claims: list[int] = []
    plain = claim.Claimer.claim

    async def counted(self: claim.Claimer, *args: Any, **kwargs: Any) -> claim.Claim:
        reply = await plain(self, *args, **kwargs)
        loop_claims.append(len(reply.jobs))
        return reply

    monkeypatch.setattr(claim.Claimer, "claim", counted)
    worker = create_worker(handle_signals=False, poll_delay=5)
    async with serving(worker):
        await wait_for_async(lambda: _value(worker._listener is not None and worker._listener.armed))
        handles = []
        for _ in range(5):
            handle = await aenqueue("stamp", "one-trip")
            assert handle is not None
            handles.append(handle)
            ran = handle.job_id
            await wait_for_async(lambda j=ran: _value(redis_client.hexists("one-trip", j)), timeout=10)
    assert sum(loop_claims) == 0, loop_claims  # every job came with its wake-up


async def test_a_wake_claim_never_takes_the_worker_past_max_jobs(
    redis_url: str, redis_client: redis.Redis, producer: ArqRedis
) -> None:
    """The worker's own loop filled its one slot (a plain arq job, found by polling) while its read
    waited: the job the read's claim took is given back at once, and runs when the slot frees."""
    worker = create_worker(handle_signals=False, poll_delay=0.05, max_jobs=1)
    async with serving(worker):
        await wait_for_async(lambda: _value(worker._listener is not None and worker._listener.armed))
        assert await producer.enqueue_job("concurrent", "one-slot", 0.5) is not None
        await wait_for_async(lambda: _value(redis_client.llen("one-slot") == 1), timeout=10)
        handle = await aenqueue("concurrent", "one-slot", 0.0)
        assert handle is not None
        await wait_for_async(lambda: _value(redis_client.llen("one-slot") == 2), timeout=10)
        assert await handle.aresult(timeout=10) is None
    running = [int(v) for v in redis_client.lrange("one-slot", 0, -1)]  # type: ignore[union-attr]
    assert running == [1, 1], running  # one at a time, each once


async def test_never_runs_more_than_max_jobs_at_once(redis_url: str, redis_client: redis.Redis) -> None:
    for _ in range(12):
        enqueue("concurrent", "conc", 0.05)
    worker = create_worker(burst=True, handle_signals=False, max_jobs=3)
    await worker.async_run()
    await worker.close()
    running = [int(v) for v in redis_client.lrange("conc", 0, -1)]  # type: ignore[union-attr]
    assert len(running) == 12 and max(running) == 3, running


async def test_burst_stops_after_max_burst_jobs(redis_url: str, redis_client: redis.Redis) -> None:
    for _ in range(5):
        enqueue("count", "burst")
    worker = create_worker(burst=True, handle_signals=False, max_burst_jobs=3)
    await worker.async_run()
    await worker.close()
    assert redis_client.get("burst") == b"3"
    assert redis_client.zcard(QUEUE) == 2


async def test_a_retry_runs_at_its_time_not_at_the_next_poll(redis_url: str) -> None:
    worker = create_worker(handle_signals=False, poll_delay=5)
    async with serving(worker):
        handle = await aenqueue("always_retry")  # Retry(defer=0.01), max_tries=2
        assert handle is not None
        with pytest.raises(JobFailed, match="max 2 retries exceeded"):
            await handle.aresult(timeout=3)


async def test_a_running_job_can_be_aborted(
    redis_url: str, redis_client: redis.Redis, producer: ArqRedis
) -> None:
    worker = create_worker(handle_signals=False, poll_delay=0.1, allow_abort_jobs=True)
    async with serving(worker):
        handle = await aenqueue("count", "aborted", 30)
        assert handle is not None
        await wait_for_async(lambda: _value(redis_client.exists(f"arq:in-progress:{handle.job_id}")))
        job = Job(handle.job_id, producer, QUEUE, JSON.loads)
        assert await job.abort(timeout=10) is True
    assert redis_client.get("aborted") is None  # it never got past its sleep


async def tick(ctx: dict[str, Any]) -> None:
    await ctx["redis"].rpush("cron-ticks", time.time())


async def test_cron_jobs_run_every_second(redis_url: str, redis_client: redis.Redis) -> None:
    worker = create_worker(handle_signals=False, cron_jobs=[cron(tick, second=set(range(60)))])
    async with serving(worker):
        await wait_for_async(lambda: _value(redis_client.llen("cron-ticks") >= 3), timeout=15)
    started = [float(t) for t in redis_client.lrange("cron-ticks", 0, -1)]  # type: ignore[union-attr]
    # Each run starts just after its time: arq schedules cron jobs at .123456 past the second.
    late = [t % 1 - 0.123456 for t in started]
    assert min(late) >= -0.001 and statistics.median(late) <= 0.05, late


async def _value(value: object) -> object:
    return value


async def test_jobs_of_a_claim_whose_reply_was_lost_run_at_once(
    redis_url: str, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis dies between running a claim and answering it: the worker's next claim releases the jobs
    that claim marked, instead of leaving them to their in-progress keys (job timeout + 10 s)."""
    from arq_django.worker import claim
    from tests.worker.test_claim import lose_replies

    built = claim.Claimer.__init__

    def losing_first_reply(self: claim.Claimer, *args: Any, **kwargs: Any) -> None:
        built(self, *args, **kwargs)
        lose_replies(self)

    monkeypatch.setattr(claim.Claimer, "__init__", losing_first_reply)
    handles = [enqueue("count", "lost-reply") for _ in range(5)]
    worker = create_worker(handle_signals=False, poll_delay=0.05)  # job timeout 300 s
    async with serving(worker):
        await wait_for_async(lambda: _value(redis_client.scard("lost-reply:ids") == len(handles)), timeout=10)
        # The side effect comes before the result write (a batched finish): wait for both.
        await wait_for_async(lambda: _value(all(h and h.result_info() for h in handles)), timeout=10)
    assert int(redis_client.get("lost-reply")) == len(handles)  # type: ignore[arg-type]
    assert all(h is not None and h.result_info().job_try == 1 for h in handles)  # type: ignore[union-attr]
