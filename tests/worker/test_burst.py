"""Burst mode: a burst worker exits once no job is due and none is running. Jobs deferred by producers
stay queued for the next worker; work the worker scheduled itself (cron ticks, retries) runs first;
``burst_wait_deferred`` / ``--burst-wait-deferred`` keeps arq's rule (wait until the queue is empty)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

import pytest

from arq_django import enqueue
from arq_django.worker.settings import build, create_worker
from tests.conftest import ROOT, WorkerProcess

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_a_burst_worker_leaves_deferred_jobs_queued_and_exits(worker_env, tmp_path, redis_client):
    deferred = enqueue("count", "burst:deferred", _defer_by=600)
    due = [enqueue("count", "burst:due", seconds=0.5) for _ in range(3)]
    assert deferred is not None and all(due)
    worker = WorkerProcess(
        [sys.executable, "manage.py", "arq_worker", "--burst"], worker_env, tmp_path / "burst.log"
    )
    try:
        exit_code = worker.wait(timeout=30)  # arq's rule would wait the 600 s
        exited = time.time()
    finally:
        worker.stop()
    assert exit_code == 0, worker.output()
    finished = [h.result_info() for h in due]
    assert all(info is not None and info.success for info in finished), worker.output()
    last = max(info.finish_time.timestamp() for info in finished if info is not None)
    assert exited - last < 2.0, (exited - last, worker.output())
    assert redis_client.zscore("arq:queue", deferred.job_id) is not None  # still queued, for the next worker
    assert redis_client.exists(f"arq:job:{deferred.job_id}") and redis_client.get("burst:deferred") is None


async def test_a_burst_worker_runs_the_cron_ticks_it_enqueued(redis_url, redis_client):
    # While the job runs, the worker enqueues every-second ticks up to a second ahead; it exits only
    # after they ran, and enqueues no new ones once nothing else is left.
    assert enqueue("count", "cron-burst", seconds=1.5, _queue_name="cron-test") is not None
    worker = create_worker("cron-test", burst=True, handle_signals=False, poll_delay=0.05)
    await asyncio.wait_for(worker.async_run(), timeout=20)
    await worker.close()
    ticks = redis_client.hgetall("cron:ticks")
    assert ticks, "the worker enqueued cron ticks while its job ran"
    assert redis_client.zcard("cron-test") == 0, redis_client.zrange("cron-test", 0, -1, withscores=True)
    assert set(ticks.values()) == {b"1"}


async def test_a_burst_worker_runs_the_retries_it_scheduled(redis_url):
    handle = enqueue("flaky_then_ok", "burst:tries", 2)  # fails twice, retried 50 ms later each time
    assert handle is not None
    worker = create_worker(burst=True, handle_signals=False, poll_delay=0.05)
    await asyncio.wait_for(worker.async_run(), timeout=20)
    await worker.close()
    info = handle.result_info()
    assert info is not None and info.success and info.result == 3


async def test_burst_wait_deferred_keeps_arqs_rule(redis_url, redis_client):
    deferred = enqueue("count", "burst:waited", _defer_by=0.3)
    assert deferred is not None
    worker = create_worker(burst=True, handle_signals=False, poll_delay=0.05, burst_wait_deferred=True)
    await asyncio.wait_for(worker.async_run(), timeout=20)
    await worker.close()
    assert redis_client.get("burst:waited") == b"1"
    assert redis_client.zcard("arq:queue") == 0


def test_the_option_is_a_setting_and_a_flag(settings):
    assert build()["burst_wait_deferred"] is False
    settings.ARQ_DJANGO = {**settings.ARQ_DJANGO, "BURST_WAIT_DEFERRED": True}
    assert build()["burst_wait_deferred"] is True
    usage = subprocess.run(
        [sys.executable, "manage.py", "arq_worker", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "settings.test"},
    ).stdout
    assert "--burst-wait-deferred" in usage and "deferred jobs stay queued" in " ".join(usage.split())


async def test_a_signalled_burst_worker_returns_once_its_jobs_end(redis_url: str) -> None:
    """SIGINT with a completion wait cancels a long job, which goes back to the queue, due: the burst
    worker must still return (it used to loop on that job forever, and its pending main() was later
    destroyed inside another test)."""
    import asyncio
    import signal

    from arq_django import aenqueue
    from arq_django.worker.settings import create_worker

    await aenqueue("wait_forever", "signalled")
    worker = create_worker(burst=True, handle_signals=False, job_completion_wait=0.2)
    main = asyncio.create_task(worker.main())
    try:
        deadline = asyncio.get_running_loop().time() + 10
        while not worker.tasks and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.01)
        assert worker.tasks, "the job never started"
        worker.handle_sig_wait_for_completion(signal.SIGINT)
        await asyncio.wait_for(main, timeout=5)
        assert worker.jobs_retried == 1
    finally:
        main.cancel()
        await worker.close()
