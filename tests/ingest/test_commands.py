"""``manage.py async_command`` and in-worker ingestion as real processes, including SIGKILL mid-stream."""

from __future__ import annotations

import functools
import itertools
import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from arq_django import JobHandle
from arq_django.keys import SourceKeys
from tests.conftest import ROOT, WorkerProcess, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

KEYS = SourceKeys("async_tasks")


class IngesterProcess(WorkerProcess):
    READY = "started (enqueue mode)"


def mark(i: int, key: str = "runs", seconds: float = 0.0) -> bytes:
    return json.dumps({"type": "mark", "data": {"key": key, "marker": str(i), "seconds": seconds}}).encode()


def async_command(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "async_command", "--interval", "0.2", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def processing_lists(client: redis.Redis, pid: int | None = None) -> list[bytes]:
    """Non-empty processing lists (of the ingester process ``pid`` only, if given)."""
    pattern = KEYS.processing(f"*:{pid}:*" if pid else "*")
    return [k for k in client.keys(pattern) if client.llen(k)]


def test_sigkill_mid_stream_loses_and_duplicates_nothing(
    worker_env, redis_client, start_worker, tmp_path: Path
):
    """1 000 messages stream in while the ingester is killed -9 three times, each time frozen (SIGSTOP) at a
    moment it holds claimed, uncommitted messages; its successors recover them after the lease (1 s)."""
    total = 1000
    env = {**worker_env, "ARQ_LIST_LEASE": "1"}
    unsent = iter(range(total))

    def produce(n: int) -> int:
        chunk = [mark(i) for i in itertools.islice(unsent, n)]
        if chunk:
            redis_client.lpush(KEYS.source, *chunk)
        return len(chunk)

    def start_ingester(n: int) -> IngesterProcess:
        argv = [sys.executable, "manage.py", "async_command", "--interval", "0.2"]
        ingester = IngesterProcess(argv, env, tmp_path / f"ingester-{n}.log")
        wait_for(lambda: ingester.process.poll() is not None or ingester.ready(), timeout=60)
        assert ingester.process.poll() is None, ingester.output()
        return ingester

    def frozen_while_holding(process: subprocess.Popen[bytes], budget: list[int]) -> bool:
        """Stream a little more; True once ``process`` is stopped while holding claimed messages."""
        budget[0] -= produce(min(100 if budget[0] == 250 else 5, budget[0]))  # a burst, then a trickle
        if not processing_lists(redis_client, process.pid):
            return False
        process.send_signal(signal.SIGSTOP)
        if processing_lists(redis_client, process.pid):
            return True
        process.send_signal(signal.SIGCONT)
        return False

    ingester = start_ingester(0)
    try:
        for n in range(1, 4):
            holding = functools.partial(frozen_while_holding, ingester.process, [250])
            wait_for(holding, timeout=60, interval=0.002)
            ingester.process.send_signal(signal.SIGKILL)
            ingester.process.wait(10)
            ingester = start_ingester(n)
        while produce(50):
            pass
        # The last ingester recovers the third victim's claims once its lease lapses, then drains the list.
        wait_for(
            lambda: (
                redis_client.llen(KEYS.source) == 0
                and not processing_lists(redis_client)
                and redis_client.scard(KEYS.consumers) == 1
            ),
            timeout=60,
        )
        ingester.stop()
        assert ingester.process.returncode == 0, ingester.output()
    finally:
        ingester.stop()
    assert redis_client.keys(f"{KEYS.source}*") == []  # nothing left behind, nothing dead-lettered
    assert redis_client.zcard("arq:queue") == total  # each message enqueued exactly once

    start_worker()
    wait_for(
        lambda: int(redis_client.get("runs") or 0) >= total and redis_client.zcard("arq:queue") == 0,
        timeout=90,
    )
    assert int(redis_client.get("runs")) == total
    assert redis_client.scard("runs:markers") == total


def test_max_tasks_stops_after_that_many_messages(worker_env, redis_client):
    redis_client.lpush(KEYS.source, *[mark(i) for i in range(10)])
    done = async_command("--max-tasks", "4", env=worker_env)
    assert done.returncode == 0, done.stderr
    assert "4 messages taken: 4 enqueued" in done.stdout
    assert redis_client.zcard("arq:queue") == 4 and redis_client.llen(KEYS.source) == 6
    assert redis_client.keys(f"{KEYS.source}:*") == []


def test_run_inline_honours_max_concurrent(worker_env, redis_client):
    redis_client.lpush(KEYS.source, *[mark(i, seconds=0.5) for i in range(6)])
    done = async_command("--run-inline", "--max-concurrent", "2", "--max-tasks", "6", env=worker_env)
    assert done.returncode == 0, done.stderr
    assert "6 ran, 0 failed" in done.stdout
    assert redis_client.zcard("arq:queue") == 0  # ran here, not enqueued
    assert int(redis_client.get("runs")) == 6
    assert max(int(n) for n in redis_client.lrange("runs:levels", 0, -1)) == 2


def test_max_concurrent_without_run_inline_is_explained(worker_env, redis_client):
    redis_client.lpush(KEYS.source, mark(1))
    done = async_command("--max-concurrent", "3", "--max-tasks", "1", env=worker_env)
    assert done.returncode == 0 and "applies to --run-inline only" in done.stderr


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signals_stop_it_cleanly(worker_env, redis_client, tmp_path, sig):
    argv = [sys.executable, "manage.py", "async_command", "--interval", "0.2"]
    ingester = IngesterProcess(argv, worker_env, tmp_path / "ingester.log")
    wait_for(lambda: ingester.process.poll() is not None or ingester.ready(), timeout=60)
    redis_client.lpush(KEYS.source, mark(1))
    wait_for(lambda: redis_client.zcard("arq:queue") == 1)
    ingester.signal(sig)
    assert ingester.wait(30) == 0, ingester.output()
    assert "1 messages taken: 1 enqueued" in ingester.output()
    assert redis_client.keys(f"{KEYS.source}*") == []


def test_the_worker_ingests_list_sources_itself(start_worker, worker_env, redis_client):
    worker = start_worker(env={"ARQ_LIST_SOURCES": "async_tasks"})
    email = {
        "type": "email",
        "data": {"to": "ops@example.com", "subject": "from a list", "body": "hi"},
        "options": {"job_id": "mail-1"},
    }
    cli = shutil.which("redis-cli")
    if cli and worker_env["REDIS_URL"].startswith("redis://"):  # exactly what a shell producer would run
        argv = [cli, "-u", worker_env["REDIS_URL"], "LPUSH", "async_tasks", json.dumps(email)]
        subprocess.run(argv, check=True, capture_output=True)
    else:
        redis_client.lpush(KEYS.source, json.dumps(email))
    redis_client.lpush(KEYS.source, mark(1), b"garbage")
    wait_for(lambda: redis_client.exists("arq:result:mail-1"), timeout=30)  # the ingester enqueued it, it ran
    assert JobHandle("mail-1").result(timeout=5)["sent"] == 1
    wait_for(lambda: redis_client.get("runs") == b"1" and redis_client.llen(KEYS.dead) == 1)
    worker.stop()
    assert worker.process.returncode == 0, worker.output()
    assert redis_client.llen(KEYS.source) == 0
    assert redis_client.keys(f"{KEYS.source}:*") == [KEYS.dead.encode()]


def test_a_list_ingested_job_starts_within_50_ms_on_an_idle_worker(start_worker, redis_client):
    """The ingester's COMMIT pushes the wake token enqueue() pushes, so the idle worker (polling only
    every 5 s here) starts the job at once. Measured from the job's score (its enqueue time, set when the
    ingester planned it) to the moment the handler ran; the median of five, for a shared machine."""
    start_worker(env={"ARQ_LIST_SOURCES": "async_tasks", "ARQ_POLL_DELAY": "5"})
    waits = []
    for i in range(5):
        message = {"type": "stamp", "data": {"key": "ingested"}, "options": {"job_id": f"woken-{i}"}}
        redis_client.lpush(KEYS.source, json.dumps(message))
        wait_for(lambda i=i: redis_client.hexists("ingested", f"woken-{i}"), timeout=20)
        started, score = redis_client.hget("ingested", f"woken-{i}").decode().split()
        waits.append(float(started) - int(score) / 1000)
    waits.sort()
    assert waits[2] < 0.05, waits
    assert waits[-1] < 1.0, waits  # never the 5 s poll
