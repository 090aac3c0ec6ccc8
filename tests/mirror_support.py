"""Helpers shared by the result-mirror tests: background in-process workers and polling rows."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

from arq_django.models import JobResult
from arq_django.worker.execute import Worker
from arq_django.worker.settings import create_worker


async def until(predicate: Callable[[], object], timeout: float = 30.0, what: str = "condition") -> object:
    """Poll an async-safe ``predicate`` (a coroutine function or a plain one) until it returns something
    truthy; fail after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"{what} not met within {timeout} s")
        await asyncio.sleep(0.03)


async def row_when(job_id: str, check: Callable[[JobResult], bool], timeout: float = 30.0) -> JobResult:
    """The job's row once ``check(row)`` holds."""
    last: list[JobResult | None] = [None]

    async def probe() -> JobResult | None:
        row = last[0] = await JobResult.objects.filter(job_id=job_id).afirst()
        return row if row is not None and check(row) else None

    try:
        return await until(probe, timeout, what=f"row of {job_id}")  # type: ignore[return-value]
    except AssertionError:
        row = last[0]
        state = "missing" if row is None else f"{row.status} (try {row.tries})"
        raise AssertionError(f"row of {job_id} did not reach the expected state; it is {state}") from None


def status_is(status: str) -> Callable[[JobResult], bool]:
    return lambda row: row.status == status


@contextlib.asynccontextmanager
async def background_worker(**overrides: object) -> AsyncIterator[Worker]:
    """An in-process burst worker running while the block runs; closed (mirror flushed) on exit."""
    worker = create_worker(burst=True, handle_signals=False, poll_delay=0.02, **overrides)
    task = asyncio.get_running_loop().create_task(worker.async_run())
    try:
        yield worker
        await asyncio.wait_for(asyncio.shield(task), 60)
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await worker.close()
