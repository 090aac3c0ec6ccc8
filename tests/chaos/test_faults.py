"""Six faults, each proved by counting side effects (one INCR + one SADD of the job id per run) and
mirror rows. Run with ``make chaos`` (PostgreSQL, so a database outage can be staged)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest
import redis
from arq.constants import job_key_prefix
from django.db import connection

from arq_django import EnqueueError, enqueue
from arq_django.models import JobResult
from arq_django.serializers import JSON
from tests.conftest import ROOT, wait_for

pytestmark = [pytest.mark.chaos, pytest.mark.django_db(transaction=True)]

FAST_FLUSH = {"ARQ_MIRROR_FLUSH_INTERVAL": "0.2"}


def report(fault: str, **figures: object) -> None:
    """One line per fault for the README's reliability table (``make chaos`` shows them)."""
    print(f"\nCHAOS {fault}: " + ", ".join(f"{k}={v}" for k, v in figures.items()))


def runs(client: redis.Redis, key: str) -> tuple[int, int]:
    """(total runs, distinct job ids run) for jobs counting into ``key``."""
    return int(client.get(key) or 0), int(client.scard(f"{key}:ids"))


def rows(status: str) -> int:
    return JobResult.objects.filter(status=status).count()


def wait_rows(status: str, expected: int, timeout: float = 60) -> None:
    wait_for(lambda: rows(status) >= expected, timeout=timeout)
    assert rows(status) == expected


def test_kill_9_loses_nothing_and_only_in_flight_jobs_repeat(start_worker, redis_client):
    env = {"ARQ_MAX_JOBS": "10", "ARQ_JOB_TIMEOUT": "1", **FAST_FLUSH}
    victim = start_worker(env=env)
    start_worker(env=env)
    handles = [enqueue("count", "k9", seconds=0.2) for _ in range(1000)]
    wait_for(lambda: runs(redis_client, "k9")[0] >= 300, timeout=60)
    in_flight_before = len(list(redis_client.scan_iter("arq:in-progress:*", count=1000)))
    victim.process.send_signal(signal.SIGKILL)
    victim.process.wait(10)
    wait_for(lambda: runs(redis_client, "k9")[1] >= 1000, timeout=120)
    total, distinct = runs(redis_client, "k9")
    assert distinct == 1000 == len({h.job_id for h in handles if h})
    # At-least-once: only jobs the killed worker held (at most its MAX_JOBS) may have run twice.
    assert 0 <= total - 1000 <= 10, (total, in_flight_before)
    wait_rows("complete", 1000)
    assert rows("in_progress") == 0
    report("kill -9", jobs=1000, runs=total, lost=1000 - distinct, repeated=total - distinct)


def test_sigterm_with_50_in_flight_stops_in_time_and_loses_nothing(start_worker, redis_client):
    env = {"ARQ_MAX_JOBS": "50", "ARQ_JOB_COMPLETION_WAIT": "5", **FAST_FLUSH}
    worker = start_worker(env=env)
    handles = [enqueue("count", "term", seconds=1.0) for _ in range(120)]
    wait_for(lambda: len(list(redis_client.scan_iter("arq:in-progress:*", count=1000))) >= 50, timeout=30)
    stopped_at = time.monotonic()
    worker.signal(signal.SIGTERM)
    assert worker.wait(30) == 0, worker.output()
    stop_s = time.monotonic() - stopped_at
    assert stop_s < 5 + 3  # JOB_COMPLETION_WAIT plus shutdown work
    start_worker(env={"ARQ_MAX_JOBS": "50", **FAST_FLUSH})
    wait_for(lambda: runs(redis_client, "term")[1] >= 120, timeout=60)
    assert runs(redis_client, "term") == (120, 120)
    assert {h.job_id for h in handles if h} == {m.decode() for m in redis_client.smembers("term:ids")}
    wait_rows("complete", 120)
    assert rows("in_progress") == 0
    report("SIGTERM", jobs=120, runs=120, lost=0, repeated=0, stop_s=round(stop_s, 2))


def test_redis_restart_workers_reconnect_and_nothing_enqueued_is_lost(
    private_redis, start_worker, settings, worker_env
):
    settings.ARQ_DJANGO = {**settings.ARQ_DJANGO, "REDIS_URL": private_redis.url, "CONNECT_TIMEOUT": 1.0}
    client = redis.Redis.from_url(private_redis.url)
    # A claim whose reply died with the connection leaves its jobs' in-progress keys set (they were
    # written, AOF kept them); those jobs run once the keys expire: the longest job timeout + 10 s.
    env = {"REDIS_URL": private_redis.url, "ARQ_JOB_TIMEOUT": "2", **FAST_FLUSH}
    start_worker(env=env)
    start_worker(env=env)
    before = [enqueue("count_retrying", "rr", seconds=0.05) for _ in range(300)]
    wait_for(lambda: runs(client, "rr")[0] >= 50, timeout=30)
    private_redis.stop()
    started = time.monotonic()
    with pytest.raises(EnqueueError):
        enqueue("count", "rr")
    assert time.monotonic() - started < 1.0 + 1.0
    time.sleep(0.5)  # the outage itself: Redis stays down for a moment, not a wait for a job
    private_redis.start()
    client = redis.Redis.from_url(private_redis.url)
    after = [enqueue("count_retrying", "rr", seconds=0.01) for _ in range(100)]
    expected = {h.job_id for h in before + after if h}
    wait_for(lambda: runs(client, "rr")[1] >= 400, timeout=150)
    assert {m.decode() for m in client.smembers("rr:ids")} == expected
    wait_rows("complete", 400)
    total, distinct = runs(client, "rr")
    # A job whose own INCR hit the outage retried (retry_on=ConnectionError): it may count twice.
    report("Redis restart", jobs=400, runs=total, lost=400 - distinct, repeated=total - distinct)
    client.close()


def _set_database_connections(allowed: bool) -> None:
    import psycopg

    name = connection.settings_dict["NAME"]
    s = connection.settings_dict
    with psycopg.connect(
        host=s["HOST"],
        port=s["PORT"] or 5432,
        user=s["USER"],
        password=s["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    ) as admin:
        admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS {"true" if allowed else "false"}')
        if not allowed:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> %s",
                [name, connection.connection.info.backend_pid if connection.connection else 0],
            )


def test_database_outage_jobs_keep_running_and_mirror_fills_afterwards(start_worker, redis_client):
    if connection.vendor != "postgresql":
        pytest.skip("the outage is staged with PostgreSQL's ALLOW_CONNECTIONS (make chaos runs on it)")
    connection.ensure_connection()
    start_worker(env=FAST_FLUSH)
    first = [enqueue("count", "db", seconds=0.01) for _ in range(100)]
    wait_rows("complete", 100)
    _set_database_connections(False)
    try:
        during = [enqueue("count", "db", seconds=0.01) for _ in range(200)]
        wait_for(lambda: runs(redis_client, "db")[1] >= 300, timeout=60)  # jobs ran without the DB
        time.sleep(1.0)  # keep the database away across several flush attempts
    finally:
        _set_database_connections(True)
    assert len([h for h in first + during if h]) == 300
    wait_rows("complete", 300, timeout=90)
    assert runs(redis_client, "db") == (300, 300)
    report("database outage", jobs=300, runs=300, lost=0, repeated=0, rows_complete=rows("complete"))


def test_many_producers_exact_counts_no_duplicates(start_worker, worker_env, redis_client):
    for _ in range(3):
        start_worker(env={"ARQ_MAX_JOBS": "20", **FAST_FLUSH})
    producers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.chaos.producer", "2500", "mp"],
            env=worker_env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(8)
    ]
    written = [int(p.communicate(timeout=300)[0].strip()) for p in producers]
    assert all(p.returncode == 0 for p in producers)
    assert sum(written) == 20_000
    wait_for(lambda: runs(redis_client, "mp")[1] >= 20_000, timeout=240)
    assert runs(redis_client, "mp") == (20_000, 20_000)
    wait_rows("complete", 20_000, timeout=120)
    report("8 producers x 3 workers", jobs=20_000, runs=20_000, lost=0, repeated=0)


def test_bad_records_fail_clearly_and_the_worker_goes_on(start_worker, redis_client):
    worker = start_worker(env=FAST_FLUSH)
    bad = {
        "garbage": b"\xff\xfe not json at all",
        "wrong-shape": JSON.dumps({"f": ["x"], "a": {}, "k": [], "t": None, "et": 1}),
        "unknown-fn": JSON.dumps({"f": "no_such_job", "a": [], "k": {}, "t": None, "et": 1}),
    }
    for job_id, payload in bad.items():
        redis_client.psetex(job_key_prefix + job_id, 60_000, payload)
        redis_client.zadd("arq:queue", {job_id: 1})
    good = [enqueue("count", "bad", seconds=0) for _ in range(20)]
    wait_for(lambda: runs(redis_client, "bad")[1] >= 20, timeout=30)
    wait_rows("failed", 3)
    errors = dict(JobResult.objects.filter(job_id__in=bad).values_list("job_id", "error"))
    assert "cannot be decoded" in errors["garbage"]
    assert "wrong shape" in errors["wrong-shape"]
    assert "'no_such_job' not found" in errors["unknown-fn"]
    assert worker.process.poll() is None  # still serving
    wait_rows("complete", len([h for h in good if h]))
    log = worker.output()
    assert "garbage" in log and "no_such_job" in log
    report("bad records", jobs=23, bad_failed=rows("failed"), good_complete=rows("complete"), lost=0)
