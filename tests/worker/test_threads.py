"""The sync pool tells a job's thread when the worker has given that job up."""

from __future__ import annotations

import asyncio
import threading

import pytest

from arq_django.worker.threads import SyncThreads, abandoned


def test_outside_a_pool_thread_there_is_no_answer():
    assert abandoned() is None


@pytest.mark.parametrize("opened", [True, False], ids=["own pool", "default executor"])
def test_a_thread_sees_its_job_given_up_after_cancellation(opened):
    threads = SyncThreads(2)
    running, release = threading.Event(), threading.Event()
    seen: list[bool | None] = []

    def job() -> None:
        seen.append(abandoned())
        running.set()
        release.wait(10)
        seen.append(abandoned())

    async def main() -> None:
        if opened:
            threads.open(2)
        task = asyncio.ensure_future(threads.run("j1", job))
        assert await asyncio.to_thread(running.wait, 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        release.set()

    try:
        asyncio.run(main())
    finally:
        threads.close(wait=True)
    assert seen == [False, True]


def test_a_finished_job_was_not_given_up():
    threads = SyncThreads(1)
    threads.open(1)
    try:
        assert asyncio.run(threads.run("j2", abandoned)) is False
    finally:
        threads.close(wait=True)
