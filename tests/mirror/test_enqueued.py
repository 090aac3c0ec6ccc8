"""The enqueue side of the mirror: the queued row, never at the cost of the enqueue or of the caller's
transaction."""

from __future__ import annotations

import pytest
from django.db import OperationalError, transaction

from arq_django import enqueue
from arq_django.mirror import enqueued as producer
from arq_django.models import JobResult

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
Status = JobResult.Status


def test_sync_enqueue_creates_the_row_and_never_fails_because_of_it(redis_url, monkeypatch, caplog):
    handle = enqueue("add", 1, 2, _defer_by=60)
    assert JobResult.objects.get(job_id=handle.job_id).status == Status.DEFERRED

    def broken(*args, **kwargs):
        raise OperationalError("database is down")

    monkeypatch.setattr(JobResult.objects, "bulk_create", broken)
    handle = enqueue("add", 1, 2)
    assert handle is not None and handle.status().value == "queued"  # enqueued all the same
    assert "row was not created (OperationalError: database is down)" in caplog.text


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


async def test_sync_enqueue_from_async_code_says_to_use_aenqueue(redis_url, caplog):
    handle = enqueue("add", 1, 2)
    assert handle is not None
    assert "enqueue() was called from async code, where the ORM cannot run: use aenqueue()" in caplog.text
