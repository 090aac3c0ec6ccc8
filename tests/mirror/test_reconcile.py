"""Reconcile fills rows from arq's result records, never reopening or duplicating a row."""

from __future__ import annotations

import pytest
from arq.constants import abort_jobs_ss
from asgiref.sync import async_to_sync

from arq_django import enqueue
from arq_django.connection import sync_client
from arq_django.mirror.reconcile import reconcile
from arq_django.mirror.rows import RowUpdate
from arq_django.mirror.writer import upsert
from arq_django.models import JobResult
from arq_django.worker.settings import create_worker

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
Status = JobResult.Status


async def run_without_mirror(settings) -> None:
    settings.ARQ_DJANGO = {**settings.ARQ_DJANGO, "MIRROR": False}
    worker = create_worker(burst=True, handle_signals=False, poll_delay=0.02)
    await worker.async_run()
    await worker.close()
    settings.ARQ_DJANGO = {**settings.ARQ_DJANGO, "MIRROR": True}


def test_reconcile_fills_missing_and_unfinished_rows(redis_url, redis_client, settings):
    settings.ARQ_DJANGO = {**settings.ARQ_DJANGO, "MIRROR_ON_ENQUEUE": False}
    ok = enqueue("add", 1, 2)
    bad = enqueue("boom", "kaput")
    aborted = enqueue("add", 0, 0)
    redis_client.zadd(abort_jobs_ss, {aborted.job_id: 1})
    redis_client.zadd("arq:queue", {"ghost": 1})
    async_to_sync(run_without_mirror)(settings)
    assert not JobResult.objects.exists()
    upsert([RowUpdate(job_id=ok.job_id, status=Status.IN_PROGRESS, tries=1, function="add", worker="w:9")])

    assert reconcile(sync_client()) == 4
    rows = {r.job_id: r for r in JobResult.objects.all()}
    assert rows[ok.job_id].status == Status.COMPLETE and rows[ok.job_id].result == 3
    assert rows[ok.job_id].worker == "w:9" and rows[ok.job_id].args == [1, 2]  # kept, and filled
    assert rows[bad.job_id].status == Status.FAILED and rows[bad.job_id].error == "ValueError: kaput"
    assert rows[aborted.job_id].status == Status.ABORTED
    assert rows["ghost"].error == "JobExecutionFailed: job expired"
    assert all(r.finished_at and r.started_at and r.queue_name == "arq:queue" for r in rows.values())

    assert reconcile(sync_client()) == 0  # finished rows are skipped
    JobResult.objects.filter(job_id=ok.job_id).delete()
    assert reconcile(sync_client(), lock_for=60) == 1
    JobResult.objects.filter(job_id=ok.job_id).delete()
    assert reconcile(sync_client(), lock_for=60) == 0  # another pass ran within the interval
    assert reconcile(sync_client()) == 1  # the pass at worker start ignores the lock
