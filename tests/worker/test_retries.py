"""Retries with backoff and timeouts on a real worker: scheduled times are read from the queue, not slept."""

from __future__ import annotations

import pytest
from arq import Retry
from arq.utils import timestamp_ms
from django.core.exceptions import ImproperlyConfigured

import arq_django
from arq_django import JobFailed, enqueue, job
from arq_django.jobs.registry import registry
from arq_django.jobs.retry import RetryPolicy
from arq_django.worker.events import JobEnd, Outcome
from arq_django.worker.settings import create_worker

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


class Ends:
    def __init__(self) -> None:
        self.events: list[JobEnd] = []

    def job_started(self, event) -> None:
        pass

    def job_ended(self, event: JobEnd) -> None:
        self.events.append(event)


async def run_worker(ends: Ends | None = None, **overrides) -> None:
    worker = create_worker(burst=True, handle_signals=False, poll_delay=0.02, **overrides)
    if ends is not None:
        worker.add_listener(ends)
    await worker.async_run()
    await worker.close()


def ms(moment) -> int:
    return round(moment.timestamp() * 1000)


def tries(redis_client, key: str) -> list[int]:
    return [int(t) for t in redis_client.lrange(key, 0, -1)]


@pytest.mark.parametrize(
    ("backoff", "cap", "expected"),
    [(1.0, 600.0, [1, 2, 4, 8, 16]), (2.0, 600.0, [2, 4, 8, 16, 32]), (10.0, 25.0, [10, 20, 25, 25, 25])],
)
def test_policy_delays(backoff, cap, expected):
    policy = RetryPolicy(retry_on=(ConnectionError,), backoff=backoff, backoff_max=cap, jitter=False)
    assert [policy.delay(n) for n in range(1, 6)] == expected
    assert policy.delay(10_000) == cap  # no overflow on absurd try counts
    jittered = RetryPolicy(retry_on=(ConnectionError,), backoff=backoff, backoff_max=cap)
    samples = [jittered.delay(3) for _ in range(500)]
    assert all(0 <= s <= expected[2] for s in samples)
    assert max(samples) - min(samples) > expected[2] / 4  # actually spread


def test_bad_retry_options_are_rejected_at_import():
    async def handler(ctx):
        return None

    with pytest.raises(ImproperlyConfigured, match=r"'bad_retry'.*retry_on="):
        job("bad_retry", retry_on="ConnectionError")(handler)
    with pytest.raises(ImproperlyConfigured, match=r"'bad_retry'.*retry_backoff need retry_on"):
        job("bad_retry", retry_backoff=2)(handler)
    with pytest.raises(ImproperlyConfigured, match="retry_backoff_max"):
        job("bad_retry", retry_on=ConnectionError, retry_backoff_max=-1)(handler)


async def test_backoff_schedules_each_retry_within_bounds(redis_url, redis_client):
    """flaky: backoff 10 s doubling, capped at 25 s, 4 tries. Each try is released by hand."""
    handle = enqueue("flaky", "flaky:tries")
    ends = Ends()
    for job_try, delay_s in [(1, 10), (2, 20), (3, 25)]:
        await run_worker(ends, max_burst_jobs=1)
        end = ends.events[-1]
        assert end.outcome is Outcome.RETRYING and end.job_try == job_try
        assert end.error == f"ConnectionError: try {job_try} failed"
        score = int(redis_client.zscore("arq:queue", handle.job_id))
        assert score == ms(end.retry_at)
        assert delay_s * 1000 <= score - ms(end.finished_at) <= delay_s * 1000 + 2000
        redis_client.zadd("arq:queue", {handle.job_id: timestamp_ms()}, xx=True)  # due now
    await run_worker(ends, max_burst_jobs=1)
    last = ends.events[-1]
    assert last.outcome is Outcome.FAILED and last.job_try == 4
    assert last.error == "ConnectionError: try 4 failed"  # the real error, not "max retries exceeded"
    assert tries(redis_client, "flaky:tries") == [1, 2, 3, 4]
    with pytest.raises(JobFailed, match="try 4 failed"):
        handle.result(timeout=5)


async def test_jittered_backoff_stays_within_zero_and_the_cap(redis_url, redis_client):
    handles = [enqueue("flaky_jitter") for _ in range(5)]
    ends = Ends()
    await run_worker(ends, max_burst_jobs=5)
    assert len(ends.events) == 5
    delays = []
    for end in ends.events:
        assert end.outcome is Outcome.RETRYING
        score = int(redis_client.zscore("arq:queue", end.job_id))
        delays.append(score - ms(end.finished_at))
        assert 0 <= delays[-1] <= 30_000 + 2000
    assert len(set(delays)) > 1 and {e.job_id for e in ends.events} == {h.job_id for h in handles}


async def test_listed_exception_retries_until_success(redis_url, redis_client):
    handle = enqueue("flaky_then_ok", "ok:tries", failures=2)
    ends = Ends()
    await run_worker(ends)
    assert handle.result(timeout=5) == 3
    assert [e.outcome for e in ends.events] == [Outcome.RETRYING, Outcome.RETRYING, Outcome.COMPLETE]
    assert tries(redis_client, "ok:tries") == [1, 2, 3]


async def test_other_exceptions_fail_at_once(redis_url, redis_client):
    handle = enqueue("unlisted_error", "unlisted:tries")
    ends = Ends()
    await run_worker(ends)
    assert [e.outcome for e in ends.events] == [Outcome.FAILED]
    assert tries(redis_client, "unlisted:tries") == [1]
    with pytest.raises(JobFailed, match="not a listed exception"):
        handle.result(timeout=5)


async def test_arq_retry_keeps_working_under_a_policy(redis_url, redis_client):
    @job("retry_passthrough", retry_on=ConnectionError, retry_backoff=600, max_tries=3)
    async def handler(ctx):
        if ctx["job_try"] == 1:
            raise Retry(defer=0.05)
        return ctx["job_try"]

    try:
        handle = enqueue("retry_passthrough")
        await run_worker()
        assert handle.result(timeout=5) == 2
    finally:
        registry.remove("retry_passthrough")


async def test_timeout_retries_when_timeout_error_is_listed(redis_url, redis_client):
    handle = enqueue("slow_tries", "slow:tries", slow=1)
    ends = Ends()
    await run_worker(ends)
    assert handle.result(timeout=5) == 2
    first = ends.events[0]
    assert first.outcome is Outcome.RETRYING and first.error == "TimeoutError: timed out after 0.3 s"
    assert tries(redis_client, "slow:tries") == [1, 2]


async def test_timeout_on_the_last_try_fails_with_timed_out(redis_url, redis_client):
    handle = enqueue("slow_tries", "slower:tries", slow=2)
    ends = Ends()
    await run_worker(ends)
    assert [e.outcome for e in ends.events] == [Outcome.RETRYING, Outcome.FAILED]
    assert ends.events[-1].error == "TimeoutError: timed out after 0.3 s"
    with pytest.raises(JobFailed, match=r"timed out after 0\.3 s"):
        handle.result(timeout=5)


@pytest.mark.parametrize("policy", [False, True], ids=["plain", "under-a-policy"])
@pytest.mark.parametrize("retry", [Retry, arq_django.Retry], ids=["arq.Retry", "arq_django.Retry"])
async def test_both_retry_exceptions_run_the_job_again_after_their_delay(
    redis_url, redis_client, retry, policy
):
    """``arq_django.Retry`` (importable without arq, so a producer can load the job's module) and arq's own
    ``Retry`` are one thing to the worker: the try ends ``retrying``, the job is rescored by its delay."""
    options = {"retry_on": ConnectionError, "retry_backoff": 600} if policy else {}

    @job("retry_kinds", max_tries=3, **options)
    async def handler(ctx):
        if ctx["job_try"] == 1:
            raise retry(defer=30)
        return ctx["job_try"]

    try:
        handle = enqueue("retry_kinds")
        ends = Ends()
        await run_worker(ends, max_burst_jobs=1)
        end = ends.events[-1]
        assert end.outcome is Outcome.RETRYING and end.job_try == 1
        score = int(redis_client.zscore("arq:queue", handle.job_id))
        assert 30_000 <= score - ms(end.finished_at) <= 32_000
        redis_client.zadd("arq:queue", {handle.job_id: timestamp_ms()}, xx=True)  # due now
        await run_worker()
        assert handle.result(timeout=5) == 2
    finally:
        registry.remove("retry_kinds")
