"""ctx["progress"]: validated, stored in Redis at once (with a TTL), handed to the mirror, readable."""

from __future__ import annotations

import asyncio
import math

import pytest

from arq_django import JobHandle
from arq_django.connection import aclose_pools, async_pool
from arq_django.jobs.progress import ProgressReporter, ProgressUpdate, progress_key
from tests.mirror_support import until

pytestmark = pytest.mark.integration


async def test_async_and_sync_reports(redis_url, redis_client):
    received: list[ProgressUpdate] = []
    reporter = ProgressReporter("j1", 2, "arq:queue", async_pool(), received.append, ttl_s=120)
    handle = JobHandle("j1")
    assert await handle.aprogress() is None
    await reporter(0.3, "a third")
    progress = await handle.aprogress()
    assert progress is not None and (progress.fraction, progress.message) == (0.3, "a third")
    assert 60_000 < redis_client.pttl(progress_key("j1")) <= 120_000
    assert received == [ProgressUpdate("j1", "arq:queue", 2, 0.3, "a third")]

    await asyncio.to_thread(reporter.sync, 1, "done")  # from a sync handler's thread
    await until(lambda: len(received) == 2, what="the sync report reached the mirror")
    assert received[1].fraction == 1.0
    assert handle.progress().message == "done"
    await aclose_pools()


@pytest.mark.parametrize("bad", [1.5, -0.1, math.nan, True, "half", None])
async def test_bad_fractions_are_refused(redis_url, bad):
    reporter = ProgressReporter("j2", 1, "arq:queue", async_pool(), None, ttl_s=60)
    with pytest.raises(ValueError, match=r"job j2: progress must be a number from 0\.0 to 1\.0"):
        await reporter(bad)
    with pytest.raises(TypeError, match="job j2: the progress message must be a str"):
        await reporter(0.5, 7)
    await aclose_pools()
