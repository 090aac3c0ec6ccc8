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
