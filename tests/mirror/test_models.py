"""JobResult: statuses, the write rank, named filters, the Django Tasks mapping, migrations in sync."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from arq_django.models import TASK_RESULT_STATUS, TERMINAL_RANK, JobResult, rank

Status = JobResult.Status


def test_statuses_and_their_task_names():
    assert Status.values == ["queued", "deferred", "in_progress", "retrying", "complete", "failed", "aborted"]
    assert set(TASK_RESULT_STATUS) == set(Status.values)
    assert set(TASK_RESULT_STATUS.values()) == {"READY", "RUNNING", "SUCCESSFUL", "FAILED"}


def test_rank_orders_a_job_s_life():
    life = [
        rank(Status.QUEUED, 0),
        rank(Status.IN_PROGRESS, 1),
        rank(Status.RETRYING, 1),
        rank(Status.IN_PROGRESS, 2),
        rank(Status.RETRYING, 2),
        rank(Status.COMPLETE, 3),
    ]
    assert life == sorted(life) and len(set(life)) == len(life)
    assert rank(Status.DEFERRED, 0) == rank(Status.QUEUED, 0)
    assert rank(Status.FAILED, 1) == rank(Status.ABORTED, 9) == TERMINAL_RANK
    assert rank(Status.IN_PROGRESS, 10**12) < TERMINAL_RANK


@pytest.mark.django_db
def test_named_filters():
    now = timezone.now()
    old = now - dt.timedelta(days=10)

    def make(job_id, status, function="add", **times):
        return JobResult.objects.create(
            job_id=job_id, status=status, function=function, queue_name="q", **times
        )

    make("a", Status.COMPLETE, finished_at=old, enqueued_at=old)
    make("b", Status.FAILED, finished_at=now, enqueued_at=now)
    make("c", Status.QUEUED, function="email", enqueued_at=old)
    make("d", Status.ABORTED, function="email", finished_at=now, enqueued_at=old)

    def ids(qs):
        return sorted(qs.values_list("job_id", flat=True))

    assert ids(JobResult.objects.failed()) == ["b"]
    assert ids(JobResult.objects.finished()) == ["a", "b", "d"]
    assert ids(JobResult.objects.unfinished()) == ["c"]
    assert ids(JobResult.objects.for_function("email")) == ["c", "d"]
    assert ids(JobResult.objects.older_than(dt.timedelta(days=7))) == ["a", "c"]
    assert ids(JobResult.objects.finished().older_than(dt.timedelta(days=7))) == ["a"]


@pytest.mark.django_db
def test_migrations_match_the_models():
    out = StringIO()
    call_command("makemigrations", "arq_django", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()
