"""Our Worker's run_job reports every job's end, including the paths arq ends early."""

from __future__ import annotations

import asyncio

import pytest
from arq.constants import abort_jobs_ss, job_key_prefix

from arq_django import JobFailed, enqueue
from arq_django.serializers import JSON
from arq_django.worker.events import JobEnd, JobStart, Outcome
from arq_django.worker.settings import create_worker

pytestmark = pytest.mark.integration


class Recorder:
    def __init__(self) -> None:
        self.started: list[JobStart] = []
        self.ended: list[JobEnd] = []

    def job_started(self, event: JobStart) -> None:
        self.started.append(event)

    def job_ended(self, event: JobEnd) -> None:
        self.ended.append(event)

    def by_id(self) -> dict[str, JobEnd]:
        return {e.job_id: e for e in self.ended}


async def drain(**overrides) -> tuple[Recorder, object]:
    worker = create_worker(burst=True, handle_signals=False, poll_delay=0.05, **overrides)
    recorder = Recorder()
    worker.add_listener(recorder)
    await worker.async_run()
    await worker.close()
    return recorder, worker


def put_raw(client, job_id: str, payload: bytes) -> None:
    client.psetex(job_key_prefix + job_id, 60_000, payload)
    client.zadd("arq:queue", {job_id: 1})


async def test_complete_failed_and_timeout_are_reported(redis_url):
    ok = enqueue("add", 1, 2)
    bad = enqueue("boom", "kaput")
    slow = enqueue("sleepy", 5)
    recorder, _ = await drain()
    ended = recorder.by_id()
    assert ended[ok.job_id].outcome is Outcome.COMPLETE and ended[ok.job_id].result == 3
    assert ended[ok.job_id].args == (1, 2) and ended[ok.job_id].worker
    assert {s.job_id for s in recorder.started} == {ok.job_id, bad.job_id, slow.job_id}
    failed = ended[bad.job_id]
    assert failed.outcome is Outcome.FAILED and failed.error == "ValueError: kaput"
    assert "raise ValueError(message)" in failed.traceback
    timed_out = ended[slow.job_id]
    assert timed_out.outcome is Outcome.FAILED and timed_out.error == "TimeoutError: timed out after 0.2 s"
    with pytest.raises(JobFailed, match=r"timed out after 0\.2 s"):
        slow.result(timeout=1)


async def test_retry_then_max_tries_exceeded(redis_url):
    handle = enqueue("always_retry")
    recorder, _ = await drain()
    outcomes = [e.outcome for e in recorder.ended if e.job_id == handle.job_id]
    assert outcomes == [Outcome.RETRYING, Outcome.RETRYING, Outcome.FAILED]
    assert recorder.ended[-1].error == "JobExecutionFailed: max 2 retries exceeded"
    assert recorder.ended[0].retry_at is not None


async def test_garbage_wrong_shape_unknown_function_and_expired_fail_cleanly(redis_url, redis_client):
    put_raw(redis_client, "garbage", b"\xff\x00 not json")
    put_raw(redis_client, "shape", JSON.dumps({"f": 1, "a": [], "k": [], "t": None, "et": 1}))
    put_raw(redis_client, "unknown", JSON.dumps({"f": "nope", "a": [], "k": {}, "t": None, "et": 1}))
    redis_client.zadd("arq:queue", {"expired": 1})  # queued id without a job record
    ok = enqueue("add", 2, 2)
    recorder, worker = await drain()
    ended = recorder.by_id()
    assert ended[ok.job_id].outcome is Outcome.COMPLETE  # the worker went on
    assert "cannot be decoded" in ended["garbage"].error
    assert "wrong shape" in ended["shape"].error
    assert "'nope' not found" in ended["unknown"].error and ended["unknown"].function == "nope"
    assert ended["expired"].error == "JobExecutionFailed: job expired"
    assert all(ended[i].outcome is Outcome.FAILED for i in ("garbage", "shape", "unknown", "expired"))
    assert redis_client.zcard("arq:queue") == 0
    assert worker.jobs_failed == 4 and worker.jobs_complete == 1


async def test_abort_before_start_is_reported_as_aborted(redis_url, redis_client):
    handle = enqueue("add", 1, 1)
    redis_client.zadd(abort_jobs_ss, {handle.job_id: 1})
    recorder, _ = await drain(allow_abort_jobs=True)
    assert recorder.by_id()[handle.job_id].outcome is Outcome.ABORTED
    with pytest.raises(asyncio.CancelledError):
        handle.result(timeout=1)


async def test_listener_errors_never_break_jobs(redis_url):
    class Broken:
        def job_started(self, event):
            raise RuntimeError("listener bug")

        def job_ended(self, event):
            raise RuntimeError("listener bug")

    handle = enqueue("add", 1, 1)
    worker = create_worker(burst=True, handle_signals=False, poll_delay=0.05)
    worker.add_listener(Broken())
    await worker.async_run()
    await worker.close()
    assert handle.result(timeout=1) == 2
