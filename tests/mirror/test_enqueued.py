"""The enqueue side of the mirror: the queued row, never at the cost of the enqueue or of the caller's
transaction; outside a transaction through the process's buffer (arq_django.mirror.buffer), which
never loses a row for good."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

import pytest
import redis
from django.db import OperationalError, connections, transaction

from arq_django import aenqueue, enqueue, flush_rows
from arq_django.keys import job_key_prefix
from arq_django.mirror import buffer
from arq_django.mirror import enqueued as producer
from arq_django.mirror.rows import RowUpdate
from arq_django.models import JobResult, rank
from tests.conftest import ROOT, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
Status = JobResult.Status


def test_sync_enqueue_creates_the_row_and_never_fails_because_of_it(redis_url, monkeypatch, caplog):
    handle = enqueue("add", 1, 2, _defer_by=60)
    assert flush_rows(10)
    assert JobResult.objects.get(job_id=handle.job_id).status == Status.DEFERRED

    def broken(*args, **kwargs):
        raise OperationalError("database is down")

    monkeypatch.setattr(buffer, "upsert", broken)
    monkeypatch.setattr(buffer, "RETRY_FOR", 0.0)
    handle = enqueue("add", 1, 2)
    assert handle is not None and handle.status().value == "queued"  # enqueued all the same
    assert flush_rows(10)
    assert "row was not created (OperationalError: database is down)" in caplog.text
    assert not JobResult.objects.filter(job_id=handle.job_id).exists()


def test_the_row_appears_within_a_second_with_no_worker_and_no_flush(redis_url):
    handle = enqueue("add", 1, 2)
    assert handle is not None
    wait_for(
        lambda: JobResult.objects.filter(job_id=handle.job_id, status=Status.QUEUED).exists(), timeout=1.0
    )


def test_many_enqueues_are_written_in_few_batches(redis_url, monkeypatch):
    batches: list[int] = []
    real = buffer.upsert
    monkeypatch.setattr(buffer, "upsert", lambda rows: batches.append(len(list(rows))) or real(rows))
    handles = [enqueue("add", i, 1) for i in range(200)]
    assert flush_rows(10)
    assert JobResult.objects.filter(job_id__in=[h.job_id for h in handles]).count() == 200
    assert sum(batches) == 200 and len(batches) < 20


def test_a_locked_database_is_retried_and_the_rows_written(redis_url, monkeypatch, caplog):
    real = buffer.upsert
    failures = iter([OperationalError("database is locked")] * 2)

    def locked_twice(rows):
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return real(rows)

    monkeypatch.setattr(buffer, "upsert", locked_twice)
    handle = enqueue("add", 1, 2)
    assert flush_rows(10)
    assert JobResult.objects.filter(job_id=handle.job_id).exists()
    assert "cannot be written yet (OperationalError: database is locked); retrying" in caplog.text
    assert "written after retrying" in caplog.text


def test_a_later_state_already_written_is_never_overwritten(redis_url):
    JobResult.objects.create(
        job_id="ran-first",
        function="add",
        queue_name="arq:queue",
        status=Status.COMPLETE,
        rank=rank("complete", 1),
    )
    late = RowUpdate(
        job_id="ran-first", status=Status.QUEUED, tries=0, function="add", queue_name="arq:queue"
    )
    buffer.write_batch([late])
    assert JobResult.objects.get(job_id="ran-first").status == Status.COMPLETE


def test_the_row_shows_the_arguments_the_worker_will_run(redis_url):
    items = [1, 2]
    handle = enqueue("add", items, {"k": 1})
    items.append(3)  # changed after the enqueue, before the flush
    assert flush_rows(10)
    assert JobResult.objects.get(job_id=handle.job_id).args == [[1, 2], {"k": 1}]


def test_enqueue_inside_a_transaction_keeps_the_transaction_usable(redis_url, monkeypatch):
    real = producer.JobResult.objects.db_manager

    class Failing:
        def bulk_create(self, *args, **kwargs):
            JobResult.objects.create(job_id="dup")  # a real IntegrityError inside the savepoint
            JobResult.objects.create(job_id="dup")

    with transaction.atomic():
        JobResult.objects.create(job_id="before", function="f", queue_name="q")
        monkeypatch.setattr(producer.JobResult.objects, "db_manager", lambda alias: Failing())
        enqueue("add", 1, 2)
        monkeypatch.setattr(producer.JobResult.objects, "db_manager", real)
        JobResult.objects.create(job_id="after", function="f", queue_name="q")
    assert set(JobResult.objects.values_list("job_id", flat=True)) == {"before", "after"}


def test_inside_a_transaction_the_row_rides_on_its_commit_and_its_rollback(redis_url, redis_client):
    with transaction.atomic():
        kept = enqueue("add", 1, 2)
        assert JobResult.objects.filter(job_id=kept.job_id).exists()  # in the transaction, not the buffer
        assert buffer.rows.idle
    assert JobResult.objects.filter(job_id=kept.job_id).exists()
    with pytest.raises(RuntimeError), transaction.atomic():
        rolled_back = enqueue("add", 3, 4)
        raise RuntimeError("roll back")
    assert flush_rows(10)
    assert redis_client.exists(job_key_prefix + rolled_back.job_id)  # Redis has the job (as before)
    assert not JobResult.objects.filter(job_id=rolled_back.job_id).exists()  # the row went with the rollback


async def test_sync_enqueue_from_async_code_gets_its_row_through_the_buffer(redis_url, caplog):
    handle = enqueue("add", 1, 2)
    assert handle is not None
    assert flush_rows(10)
    assert "row was not created" not in caplog.text
    assert await JobResult.objects.filter(job_id=handle.job_id).aexists()


async def test_aenqueue_uses_the_buffer_not_a_thread_hop_per_call(redis_url, monkeypatch):
    added: list[str] = []
    real = buffer.rows.add
    monkeypatch.setattr(
        buffer.rows, "add", lambda row: added.append(threading.current_thread().name) or real(row)
    )
    handle = await aenqueue("add", 1, 2, _defer_by=60)
    assert handle is not None
    assert added == [threading.current_thread().name]  # added on the loop's own thread
    assert flush_rows(10)
    row = await JobResult.objects.aget(job_id=handle.job_id)
    assert row.status == Status.DEFERRED and row.scheduled_for is not None


def test_the_writer_thread_holds_no_connection_once_it_has_written_everything(redis_url, monkeypatch):
    closed: list[tuple[str, bool]] = []
    real = buffer.connections.close_all

    def close_all() -> None:
        real()
        closed.append((threading.current_thread().name, connections["default"].connection is None))

    monkeypatch.setattr(buffer.connections, "close_all", close_all)
    enqueue("add", 1, 2)
    assert flush_rows(10)
    assert closed == [("arq_django-enqueued-rows", True)]  # closed before flush_rows() returned


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork only")
def test_a_forked_child_starts_with_an_empty_buffer_and_no_thread(redis_url):
    handle = enqueue("add", 1, 2)  # buffered: the thread waits up to 50 ms before writing it
    pid = os.fork()
    if pid == 0:  # pragma: no cover (the child)
        ok = buffer.rows._pending == [] and buffer.rows._thread is None and buffer.rows.idle
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert flush_rows(10)  # the parent still writes its row
    assert JobResult.objects.filter(job_id=handle.job_id).exists()


PRODUCER = """
import sys, threading
import django
django.setup()
from arq_django import enqueue
from arq_django.mirror import buffer
buffer.FLUSH_INTERVAL = 3600  # the row stays in the buffer until the process is killed
handle = enqueue("add", 1, 2)
print(handle.job_id, flush=True)
threading.Event().wait()
"""


def test_a_producer_killed_mid_buffer_loses_no_row(redis_url, worker_env, start_worker):
    producer_process = subprocess.Popen(
        [sys.executable, "-c", PRODUCER], env=worker_env, cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert producer_process.stdout is not None
        job_id = producer_process.stdout.readline().strip()
        assert job_id, "the producer printed no job id"
        assert redis.Redis.from_url(redis_url).exists(job_key_prefix + job_id)
        assert not JobResult.objects.filter(job_id=job_id).exists()  # still in the producer's buffer
    finally:
        producer_process.send_signal(signal.SIGKILL)
        producer_process.wait(10)
    assert not JobResult.objects.filter(job_id=job_id).exists()  # the buffer died with the process
    start_worker()
    row = wait_for(
        lambda: JobResult.objects.filter(job_id=job_id, status=Status.COMPLETE).first(), timeout=30
    )
    assert row.function == "add" and row.args == [1, 2] and row.result == 3
    assert row.started_at is not None  # written by the worker when the job started
