"""The batch claim keeps arq's in-progress protocol and reads what run_job needs, in one round trip."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.exceptions
from arq.connections import ArqRedis, RedisSettings, create_pool
from arq.constants import abort_jobs_ss, in_progress_key_prefix, job_key_prefix, retry_key_prefix
from arq.utils import timestamp_ms

from arq_django.connection import aclose
from arq_django.worker.claim import RETRY_KEY_TTL_S, Claimer

pytestmark = pytest.mark.integration
QUEUE = "arq:queue"


@pytest.fixture
async def pool(redis_url: str) -> AsyncIterator[ArqRedis]:
    pool = await create_pool(RedisSettings.from_dsn(redis_url))
    yield pool
    await aclose(pool, close_connection_pool=True)


async def put(pool: ArqRedis, job_id: str, score: int, record: bytes | None = b"record") -> None:
    if record is not None:
        await pool.psetex(job_key_prefix + job_id, 60_000, record)  # type: ignore[no-untyped-call]
    await pool.zadd(QUEUE, {job_id: score})


async def test_claims_ready_jobs_in_score_order_up_to_want(pool: ArqRedis) -> None:
    now = timestamp_ms()
    for i in range(5):
        await put(pool, f"j{i}", now - 100 + i, f"record{i}".encode())
    claim = await Claimer(pool, QUEUE, in_progress_ms=30_000, allow_abort=False).claim(3, 100, now)
    assert [job.job_id for job in claim.jobs] == ["j0", "j1", "j2"]
    assert claim.full and claim.queued == 5
    first = claim.jobs[0]
    assert (first.score, first.raw, first.job_try, first.aborted) == (now - 100, b"record0", 1, False)
    assert 29_000 < await pool.pttl(in_progress_key_prefix + "j0") <= 30_000
    assert RETRY_KEY_TTL_S - 5 < await pool.ttl(retry_key_prefix + "j0") <= RETRY_KEY_TTL_S
    assert not await pool.exists(in_progress_key_prefix + "j3")
    # The next claim takes the rest; the claimed ones stay queued (arq removes them when they finish).
    rest = await Claimer(pool, QUEUE, in_progress_ms=30_000, allow_abort=False).claim(10, 100, now)
    assert [job.job_id for job in rest.jobs] == ["j3", "j4"]
    assert not rest.full and rest.next_due_ms is None and rest.queued == 5


async def test_skips_jobs_another_worker_holds(pool: ArqRedis) -> None:
    """A plain arq worker's in-progress key (set in its WATCH/MULTI) keeps the job from us."""
    now = timestamp_ms()
    await put(pool, "theirs", now - 10)
    await put(pool, "ours", now - 5)
    await pool.psetex(in_progress_key_prefix + "theirs", 10_000, b"1")  # type: ignore[no-untyped-call]
    claim = await Claimer(pool, QUEUE, in_progress_ms=30_000, allow_abort=False).claim(5, 100, now)
    assert [job.job_id for job in claim.jobs] == ["ours"]
    assert not await pool.exists(retry_key_prefix + "theirs")


async def test_future_jobs_are_left_and_the_next_due_time_reported(pool: ArqRedis) -> None:
    now = timestamp_ms()
    await put(pool, "later", now + 5_000)
    await put(pool, "soon", now + 1_000)
    claim = await Claimer(pool, QUEUE, in_progress_ms=30_000, allow_abort=False).claim(5, 100, now)
    assert claim.jobs == () and claim.next_due_ms == now + 1_000 and claim.queued == 2


async def test_expired_record_retry_count_and_abort_are_reported(pool: ArqRedis) -> None:
    now = timestamp_ms()
    await put(pool, "gone", now - 10, record=None)
    await put(pool, "again", now - 5)
    await pool.set(retry_key_prefix + "again", 2)
    await pool.zadd(abort_jobs_ss, {"again": now})
    claim = await Claimer(pool, QUEUE, in_progress_ms=30_000, allow_abort=True).claim(5, 100, now)
    gone, again = claim.jobs
    assert gone.raw is None
    assert (again.job_try, again.aborted) == (3, True)
    assert not await pool.zscore(abort_jobs_ss, "again")


async def test_read_limit_bounds_the_ids_looked_at(pool: ArqRedis) -> None:
    now = timestamp_ms()
    for i in range(4):
        await put(pool, f"busy{i}", now - 100 + i)
        await pool.psetex(in_progress_key_prefix + f"busy{i}", 10_000, b"1")  # type: ignore[no-untyped-call]
    await put(pool, "free", now - 1)
    claimer = Claimer(pool, QUEUE, in_progress_ms=30_000, allow_abort=False)
    assert (await claimer.claim(1, 4, now)).jobs == ()
    assert [job.job_id for job in (await claimer.claim(1, 5, now)).jobs] == ["free"]


def lose_replies(claimer: Claimer, count: int = 1) -> None:
    """The next ``count`` claims run in Redis, but their replies never arrive (Redis died mid-call)."""
    script = claimer._script
    lost = [count]

    async def run_then_lose(**kwargs):
        reply = await script(**kwargs)
        if lost[0] > 0:
            lost[0] -= 1
            raise redis.exceptions.ConnectionError("Connection closed by server.")
        return reply

    claimer._script = run_then_lose  # type: ignore[assignment]


async def test_a_claim_whose_reply_was_lost_is_released_by_the_next(pool: ArqRedis) -> None:
    now = timestamp_ms()
    await put(pool, "a", now - 10)
    await put(pool, "b", now - 5)
    await pool.zadd(abort_jobs_ss, {"b": now})
    claimer = Claimer(pool, QUEUE, in_progress_ms=300_000, allow_abort=True)
    lose_replies(claimer)
    with pytest.raises(redis.exceptions.ConnectionError):
        await claimer.claim(5, 100, now)
    # The script ran: both jobs are marked in progress (for 300 s) by a claim nobody heard back from.
    assert (
        len(claimer.lost) == 1
        and await pool.exists(in_progress_key_prefix + "a", in_progress_key_prefix + "b") == 2
    )
    assert not await pool.zscore(abort_jobs_ss, "b")
    claim = await claimer.claim(5, 100, timestamp_ms())
    assert [job.job_id for job in claim.jobs] == ["a", "b"]  # at once, not in 300 s
    assert [job.job_try for job in claim.jobs] == [1, 1]  # the lost claim's try was undone
    assert [job.aborted for job in claim.jobs] == [False, True]  # and its abort request put back
    assert claimer.lost == []


async def test_a_lost_claim_never_releases_a_job_someone_else_holds(pool: ArqRedis) -> None:
    now = timestamp_ms()
    await put(pool, "a", now - 10)
    claimer = Claimer(pool, QUEUE, in_progress_ms=300_000, allow_abort=False)
    lose_replies(claimer)
    with pytest.raises(redis.exceptions.ConnectionError):
        await claimer.claim(5, 100, now)
    # Its key expired and another worker took the job meanwhile: the release leaves that one alone.
    await pool.psetex(in_progress_key_prefix + "a", 10_000, b"1")  # type: ignore[no-untyped-call]
    assert await claimer.release_lost() == 0
    assert await pool.get(in_progress_key_prefix + "a") == b"1"


# -- the claim on wake-up: the blocking read and the claim in one round trip --------------------------------
WAKE = "arq_django:wake:" + QUEUE


async def test_a_claim_on_wake_takes_what_the_token_announced(pool: ArqRedis) -> None:
    """The worker read its clock before it began to wait; the producer's token says the job is due by
    now, so the claim queued behind the read takes it (the worker's stale clock alone would not)."""
    claimer = Claimer(pool, QUEUE, in_progress_ms=30_000, allow_abort=False)
    now = timestamp_ms()
    await put(pool, "fresh", now + 2_000)  # due 2 s after the worker's clock, by the producer's
    await pool.lpush(WAKE, str(now + 2_000))
    claim = await claimer.claim_on_wake(pool, WAKE, 5, 100, block_s=3)
    assert claim is not None and [job.job_id for job in claim.jobs] == ["fresh"]
    assert claim.jobs[0].raw == b"record" and claim.jobs[0].job_try == 1
    assert not [k async for k in pool.scan_iter("arq_django:woken:*")]  # the script emptied it
    assert await pool.llen(WAKE) == 0


async def test_a_claim_on_wake_leaves_jobs_deferred_past_the_token(pool: ArqRedis) -> None:
    """A token carries its producer's clock, not a job's run-at time: a deferred job stays queued and
    its time comes back for the worker's timer."""
    now = timestamp_ms()
    await put(pool, "deferred", now + 60_000)
    await pool.lpush(WAKE, str(now))
    claim = await Claimer(pool, QUEUE, in_progress_ms=30_000, allow_abort=False).claim_on_wake(
        pool, WAKE, 5, 100, block_s=1
    )
    assert claim is not None and claim.jobs == () and claim.next_due_ms == now + 60_000
    assert not await pool.exists(in_progress_key_prefix + "deferred")


async def test_a_token_from_a_clock_far_ahead_moves_the_claim_by_at_most_the_wait(pool: ArqRedis) -> None:
    """A producer whose clock runs an hour ahead cannot start a job deferred by ten minutes: the
    token's time counts only up to the worker's clock plus the longest wait."""
    now = timestamp_ms()
    await put(pool, "in-ten-minutes", now + 600_000)
    await put(pool, "due", now - 1)
    await pool.lpush(WAKE, str(now + 3_600_000))
    claim = await Claimer(pool, QUEUE, in_progress_ms=30_000, allow_abort=False).claim_on_wake(
        pool, WAKE, 5, 100, block_s=1
    )
    assert claim is not None and [job.job_id for job in claim.jobs] == ["due"]


async def test_the_newest_waiting_token_counts_too(pool: ArqRedis) -> None:
    """The read moves the oldest token; the newest one still in the list says a later job is due too,
    so one claim takes both, and the list keeps the other token."""
    now = timestamp_ms()
    await put(pool, "first", now + 1_000)
    await put(pool, "second", now + 2_000)
    await pool.lpush(WAKE, str(now + 1_000), str(now + 2_000))
    claim = await Claimer(pool, QUEUE, in_progress_ms=30_000, allow_abort=False).claim_on_wake(
        pool, WAKE, 5, 100, block_s=3
    )
    assert claim is not None and [job.job_id for job in claim.jobs] == ["first", "second"]
    assert await pool.llen(WAKE) == 1


async def test_an_old_token_claims_by_the_workers_clock(pool: ArqRedis) -> None:
    """A token without a time (``1``: ingestion, an earlier arq_django) leaves the worker's own clock."""
    now = timestamp_ms()
    await put(pool, "past", now - 10)
    await put(pool, "later", now + 2_000)
    await pool.lpush(WAKE, "1")
    claim = await Claimer(pool, QUEUE, in_progress_ms=30_000, allow_abort=False).claim_on_wake(
        pool, WAKE, 5, 100, block_s=1
    )
    assert claim is not None and [job.job_id for job in claim.jobs] == ["past"]


async def test_a_wait_without_a_token_claims_nothing(pool: ArqRedis) -> None:
    now = timestamp_ms()
    await put(pool, "due", now - 10)
    claim = await Claimer(pool, QUEUE, in_progress_ms=30_000, allow_abort=False).claim_on_wake(
        pool, WAKE, 5, 100, block_s=0.1
    )
    assert claim is None
    assert not await pool.exists(in_progress_key_prefix + "due", retry_key_prefix + "due")


async def test_a_claim_on_wake_after_a_script_flush_still_claims(pool: ArqRedis) -> None:
    """Redis restarted (NOSCRIPT): the token waits in the woken list and the loaded script takes it."""
    now = timestamp_ms()
    await put(pool, "due", now)
    await pool.lpush(WAKE, str(now))
    await pool.script_flush()
    claim = await Claimer(pool, QUEUE, in_progress_ms=30_000, allow_abort=False).claim_on_wake(
        pool, WAKE, 5, 100, block_s=1
    )
    assert claim is not None and [job.job_id for job in claim.jobs] == ["due"]
    assert not [k async for k in pool.scan_iter("arq_django:woken:*")]


async def test_a_rejected_claim_on_wake_gives_its_jobs_back(pool: ArqRedis) -> None:
    """The worker filled up while it waited: what the claim took is released, claimable at once."""
    claimer = Claimer(pool, QUEUE, in_progress_ms=30_000, allow_abort=False)
    now = timestamp_ms()
    await put(pool, "due", now)
    await pool.lpush(WAKE, str(now))
    claim = await claimer.claim_on_wake(pool, WAKE, 5, 100, block_s=1)
    assert claim is not None and len(claim.jobs) == 1
    claimer.reject(claim)
    assert await claimer.release_lost() == 1
    assert not await pool.exists(in_progress_key_prefix + "due")
    again = await Claimer(pool, QUEUE, in_progress_ms=30_000, allow_abort=False).claim(5, 100, timestamp_ms())
    assert [job.job_id for job in again.jobs] == ["due"] and again.jobs[0].job_try == 1


async def test_a_claim_on_wake_whose_reply_was_lost_is_released(
    pool: ArqRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis answered the read and ran the claim, then the connection dropped: the next claim gives
    the job back at once, as for any lost claim."""
    from redis.asyncio.client import Pipeline

    claimer = Claimer(pool, QUEUE, in_progress_ms=30_000, allow_abort=False)
    now = timestamp_ms()
    await put(pool, "due", now)
    await pool.lpush(WAKE, str(now))
    ran = Pipeline.execute

    async def run_then_lose(self: Pipeline, raise_on_error: bool = True) -> list[object]:
        await ran(self, raise_on_error=raise_on_error)
        raise redis.exceptions.ConnectionError("Connection closed by server.")

    monkeypatch.setattr(Pipeline, "execute", run_then_lose)
    with pytest.raises(redis.exceptions.ConnectionError):
        await claimer.claim_on_wake(pool, WAKE, 5, 100, block_s=1)
    monkeypatch.undo()
    assert await pool.get(in_progress_key_prefix + "due") is not None and len(claimer.lost) == 1
    claim = await claimer.claim(5, 100, timestamp_ms())
    assert [job.job_id for job in claim.jobs] == ["due"] and claim.jobs[0].job_try == 1
