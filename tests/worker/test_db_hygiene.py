from __future__ import annotations

import asyncio
import datetime as dt

from arq_django.worker import db_hygiene
from arq_django.worker.events import JobEnd, Outcome


def end(outcome: Outcome) -> JobEnd:
    now = dt.datetime.now(dt.UTC)
    return JobEnd(
        job_id="j",
        function="f",
        queue_name="q",
        args=(),
        kwargs={},
        job_try=1,
        max_tries=1,
        enqueue_time=now,
        started_at=now,
        finished_at=now,
        worker="w",
        outcome=outcome,
    )


async def wait_until(predicate, timeout=5.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not met"
        await asyncio.sleep(0.01)


async def test_runs_on_a_timer_and_at_once_after_a_failed_job(monkeypatch):
    calls: list[float] = []
    monkeypatch.setattr(db_hygiene, "close_old_connections", lambda: calls.append(1.0))
    hygiene = db_hygiene.DbHygiene(interval=30)
    hygiene.start()
    await asyncio.sleep(0.05)
    assert calls == []  # nothing before the interval unless a job failed
    hygiene.job_ended(end(Outcome.COMPLETE))
    await asyncio.sleep(0.05)
    assert calls == []
    hygiene.job_ended(end(Outcome.FAILED))
    await wait_until(lambda: len(calls) == 1)
    await hygiene.stop()

    fast = db_hygiene.DbHygiene(interval=0.01)
    fast.start()
    await wait_until(lambda: len(calls) >= 3)
    await fast.stop()
