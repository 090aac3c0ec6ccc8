"""Nothing is lost: a database outage while jobs run, and a worker killed with rows unwritten.

Both use real worker processes and a real failure of the database (SQLite: another connection holds
an exclusive lock; PostgreSQL: the test database refuses connections and its sessions are ended).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator

import psycopg
import pytest
from django.db import connection

from arq_django import JobFailed, enqueue, flush_rows
from arq_django.models import JobResult
from tests.conftest import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
Status = JobResult.Status


@contextlib.contextmanager
def database_down() -> Iterator[None]:
    """Make the test database refuse every other connection until the block ends."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        lock = sqlite3.connect(settings["NAME"], isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            lock.execute("COMMIT")
            lock.close()
        return
    name = settings["NAME"]
    connection.close()
    admin = psycopg.connect(
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        user=settings["USER"] or None,
        password=settings["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )
    try:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            [name],
        )
        yield
    finally:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        admin.close()


def rows() -> dict[str, JobResult]:
    return {row.job_id: row for row in JobResult.objects.all()}


def test_jobs_finish_during_an_outage_and_their_rows_catch_up(start_worker, redis_client, settings):
    worker = start_worker()
    running = [enqueue("gated", f"gate:{i}") for i in range(3)]
    wait_for(lambda: all(r.status == Status.IN_PROGRESS for r in rows().values()) and len(rows()) == 3)
    connection.close()
    with database_down():
        redis_client.set("gate:0", 1)
        redis_client.set("gate:1", 1)
        redis_client.set("gate:2", 1)
        assert [h.result(timeout=30) for h in running] == ["opened"] * 3  # the results are in Redis
        # The worker keeps taking jobs (enqueued without the mirror: this process has no database).
        settings.ARQ_DJANGO = {**settings.ARQ_DJANGO, "MIRROR_ON_ENQUEUE": False}
        later = [enqueue("add", i, i) for i in range(3)] + [enqueue("boom", "during the outage")]
        assert [h.result(timeout=30) for h in later[:3]] == [0, 2, 4]
        with pytest.raises(JobFailed):
            later[3].result(timeout=30)
        wait_for(lambda: "writing rows failed" in worker.output(), timeout=60)
    assert worker.process.poll() is None, worker.output()
    expected = {h.job_id: "opened" for h in running} | {h.job_id: 2 * i for i, h in enumerate(later[:3])}
    wait_for(lambda: len(rows()) == 7 and all(r.status in JobResult.FINISHED for r in rows().values()), 60)
    found = rows()
    assert {job_id: found[job_id].result for job_id in expected} == expected
    assert all(found[job_id].status == Status.COMPLETE for job_id in expected)
    assert found[later[3].job_id].status == Status.FAILED
    assert found[later[3].job_id].error == "ValueError: during the outage"
    assert "writes work again" in worker.output()


def test_a_killed_worker_s_rows_are_filled_by_the_next_worker(start_worker):
    first = start_worker(env={"ARQ_MIRROR_FLUSH_INTERVAL": "3600"})  # it never flushes on its own
    done = [enqueue("add", i, 10) for i in range(5)]
    failed = enqueue("boom", "before the crash")
    assert flush_rows(10)  # the enqueue-time rows (buffered outside a transaction)
    assert [h.result(timeout=30) for h in done] == [10, 11, 12, 13, 14]
    with pytest.raises(JobFailed):
        failed.result(timeout=30)
    assert {r.status for r in rows().values()} == {Status.QUEUED}  # finished in Redis only
    first.process.kill()
    first.wait(30)

    start_worker()  # reconciles at start
    wait_for(lambda: all(r.status in JobResult.FINISHED for r in rows().values()), timeout=60)
    found = rows()
    assert len(found) == 6
    assert [found[h.job_id].result for h in done] == [10, 11, 12, 13, 14]
    assert all(found[h.job_id].status == Status.COMPLETE and found[h.job_id].tries == 1 for h in done)
    assert found[failed.job_id].status == Status.FAILED
    assert found[failed.job_id].error == "ValueError: before the crash"
