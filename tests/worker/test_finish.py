"""Batched finishes write exactly what arq's own ``finish_job`` writes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import arq.worker
import pytest
from arq.connections import ArqRedis, RedisSettings, create_pool
from arq.constants import (
    abort_jobs_ss,
    in_progress_key_prefix,
    job_key_prefix,
    result_key_prefix,
    retry_key_prefix,
)
from arq.utils import to_ms

from arq_django.connection import aclose
from arq_django.worker.finish import Finish, Finisher, wait_written

pytestmark = pytest.mark.integration
QUEUE = "arq:queue"


async def noop(ctx: dict[str, Any]) -> None:
    return None


@pytest.fixture
async def pool(redis_url: str) -> AsyncIterator[ArqRedis]:
    pool = await create_pool(RedisSettings.from_dsn(redis_url))
    yield pool
    await aclose(pool, close_connection_pool=True)


async def running(pool: ArqRedis, job_id: str) -> None:
    """A job as a worker holds it while it runs."""
    await pool.psetex(job_key_prefix + job_id, 60_000, b"record")  # type: ignore[no-untyped-call]
    await pool.psetex(in_progress_key_prefix + job_id, 60_000, b"1")  # type: ignore[no-untyped-call]
    await pool.setex(retry_key_prefix + job_id, 88400, 1)
    await pool.zadd(QUEUE, {job_id: 1000})
    await pool.zadd(abort_jobs_ss, {job_id: 1000})


async def state(pool: ArqRedis, job_id: str) -> dict[str, Any]:
    def ttl_s(ms: int) -> int:
        return ms if ms < 0 else round(ms / 1000)

    return {
        "job": await pool.exists(job_key_prefix + job_id),
        "retry": await pool.exists(retry_key_prefix + job_id),
        "in_progress_ttl": ttl_s(await pool.pttl(in_progress_key_prefix + job_id)),
        "result": await pool.get(result_key_prefix + job_id),
        "result_ttl": ttl_s(await pool.pttl(result_key_prefix + job_id)),
        "score": await pool.zscore(QUEUE, job_id),
        "abort": await pool.zscore(abort_jobs_ss, job_id),
    }


CASES = {
    "complete": (True, b"result", 3600.0, False, None, None),
    "kept forever": (True, b"result", 3600.0, True, None, None),
    "no result kept": (True, None, 0.0, False, None, None),
    "retry later": (False, None, 3600.0, False, 5000, None),
    "requeued now": (False, None, 3600.0, False, None, None),
    "cron keeps in-progress": (True, b"result", 3600.0, False, None, 60.0),
}


@pytest.mark.parametrize("case", CASES)
async def test_same_writes_as_arq(pool: ArqRedis, case: str) -> None:
    finish, result, result_timeout_s, forever, incr_score, keep_in_progress = CASES[case]
    arq_worker = arq.worker.Worker(functions=[noop], redis_pool=pool, queue_name=QUEUE, handle_signals=False)
    await running(pool, "by-arq")
    await running(pool, "by-us")
    await arq_worker.finish_job(
        "by-arq", finish, result, result_timeout_s, forever, incr_score, keep_in_progress
    )
    await Finisher(pool, QUEUE).finish(
        Finish(
            job_id="by-us",
            finish=finish,
            result=result,
            result_ttl_ms=None if forever else to_ms(result_timeout_s),
            incr_score_ms=incr_score,
            keep_in_progress_ms=to_ms(keep_in_progress),
        )
    )
    assert await state(pool, "by-us") == await state(pool, "by-arq")


async def test_jobs_ending_together_share_one_call(pool: ArqRedis) -> None:
    finisher = Finisher(pool, QUEUE)
    for i in range(20):
        await running(pool, f"j{i}")
    calls = 0
    script = finisher._script

    async def counting(**kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        return await script(**kwargs)

    finisher._script = counting  # type: ignore[assignment]
    writes = [Finish(f"j{i}", True, b"r", 1000, None, None) for i in range(20)]
    await asyncio.gather(*(finisher.finish(w) for w in writes))
    assert calls == 1
    assert await pool.zcard(QUEUE) == 0
    assert await pool.get(result_key_prefix + "j19") == b"r"


async def test_a_failed_write_fails_its_batch_and_the_next_one_runs(pool: ArqRedis) -> None:
    finisher = Finisher(pool, QUEUE)
    script = finisher._script
    failures = [RuntimeError("redis went away")]

    async def flaky(**kwargs: Any) -> Any:
        if failures:
            raise failures.pop()
        return await script(**kwargs)

    finisher._script = flaky  # type: ignore[assignment]
    await running(pool, "a")
    with pytest.raises(RuntimeError, match="went away"):
        await finisher.finish(Finish("a", True, b"r", 1000, None, None))
    await finisher.finish(Finish("a", True, b"r", 1000, None, None))
    assert await pool.zcard(QUEUE) == 0


async def test_a_cancelled_job_still_waits_for_its_write() -> None:
    """Shutdown cancels job tasks; one already writing its end finishes writing and is not cancelled."""
    written: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    task = asyncio.ensure_future(wait_written(written))
    await asyncio.sleep(0)
    task.cancel()
    await asyncio.sleep(0)
    assert not task.done()
    written.set_result(None)
    await task
    assert not task.cancelled() and task.cancelling() == 0


async def test_a_failed_or_cancelled_write_is_raised() -> None:
    loop = asyncio.get_running_loop()
    failed: asyncio.Future[None] = loop.create_future()
    failed.set_exception(RuntimeError("redis went away"))
    with pytest.raises(RuntimeError):
        await wait_written(failed)
    dropped: asyncio.Future[None] = loop.create_future()
    dropped.cancel()
    with pytest.raises(asyncio.CancelledError):
        await wait_written(dropped)
