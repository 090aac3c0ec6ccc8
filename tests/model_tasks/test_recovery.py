"""Recovery of rows stuck ``in_progress``: a worker killed with SIGKILL mid-task, and rows whose job is
still alive, which recovery must leave alone."""

from __future__ import annotations

import signal
from datetime import timedelta

import pytest
from django.utils import timezone

from arq_django.model_tasks import recovery
from arq_django.model_tasks.recovery import CRON_NAME, cron_jobs, recover
from tests.conftest import wait_for
from tests.model_tasks_app.models import RELEASE_KEY, Export, OneShot

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_row_whose_worker_was_killed_is_recovered_and_run_again(redis_url, redis_client, start_worker):
    env = {"ARQ_QUEUE": "rows", "ARQ_JOB_TIMEOUT": "1"}
    first = start_worker(env=env)
    row = OneShot.objects.create()
    wait_for(lambda: OneShot.objects.get(pk=row.pk).status == "in_progress")
    first.signal(signal.SIGKILL)
    first.wait(10)
    killed_job = row.job_id
    # Its in-progress key would expire after the worker's longest timeout + 10 s: expire it now. The next
    # worker then finds the job past max_tries=1 and ends it without calling the handler, so nothing
    # would ever write the row's outcome.
    assert redis_client.pexpire(f"arq:in-progress:{killed_job}", 1)
    redis_client.set(RELEASE_KEY, 1)
    start_worker(env=env)
    wait_for(lambda: redis_client.exists(f"arq:result:{killed_job}"), timeout=30)
    assert OneShot.objects.get(pk=row.pk).status == "in_progress"
    wait_for(lambda: recover(OneShot) or OneShot.objects.get(pk=row.pk).job_id != killed_job, timeout=30)
    done = wait_for(lambda: OneShot.objects.filter(pk=row.pk, status="complete").first())
    assert done.job_id != killed_job and done.result == "done" and done.tries == 1


def test_rows_whose_job_is_alive_are_never_touched(redis_url, redis_client):
    row = Export.objects.create(name="alive")
    long_ago = timezone.now() - timedelta(hours=1)
    Export.objects.filter(pk=row.pk).update(status="in_progress", started_at=long_ago)
    assert recover(Export) == 0  # its job is still queued (arq:job:<id>)
    redis_client.delete(f"arq:job:{row.job_id}")
    redis_client.set(f"arq:in-progress:{row.job_id}", b"1")
    assert recover(Export) == 0  # a worker holds it
    assert Export.objects.get(pk=row.pk).job_id == row.job_id
    redis_client.delete(f"arq:in-progress:{row.job_id}")
    assert recover(Export) == 1
    assert Export.objects.get(pk=row.pk).status == "queued"


def test_recent_rows_are_left_until_their_timeout_passes(redis_url, redis_client):
    row = Export.objects.create(name="recent")
    Export.objects.filter(pk=row.pk).update(status="in_progress", started_at=timezone.now())
    redis_client.delete(f"arq:job:{row.job_id}")
    assert recover(Export) == 0


def test_on_stuck_fail_marks_the_row_failed(redis_url, redis_client, monkeypatch):
    from arq_django.model_tasks.options import TaskOptions

    monkeypatch.setattr(Export, "task_options", TaskOptions(queue="rows", on_stuck="fail"), raising=False)
    row = Export.objects.create(name="lost")
    Export.objects.filter(pk=row.pk).update(
        status="in_progress", started_at=timezone.now() - timedelta(hours=1)
    )
    redis_client.delete(f"arq:job:{row.job_id}")
    assert recover(Export) == 1
    lost = Export.objects.get(pk=row.pk)
    assert lost.status == "failed" and lost.error == recovery.LOST_ERROR and lost.finished_at


def test_the_recovery_cron_job_runs_only_where_task_models_do():
    jobs = cron_jobs("rows")
    assert [j.name for j in jobs] == [CRON_NAME] and jobs[0].unique
    assert cron_jobs("mail") == []


def test_a_sync_task_past_its_timeout_leaves_the_row_timed_out_not_complete(
    redis_url, redis_client, thread_worker
):
    thread_worker("rows")
    row = OneShot.objects.create()
    wait_for(lambda: OneShot.objects.get(pk=row.pk).status == "in_progress")
    wait_for(lambda: redis_client.exists(f"arq:result:{row.job_id}"))  # arq ended the job: timed out
    redis_client.set(RELEASE_KEY, 1)  # the thread, still running, now returns "done"
    done = wait_for(lambda: finished(OneShot, row.pk))
    assert done.status == "failed" and done.result is None
    assert done.error.startswith("TimeoutError: do_task ran ") and "past its 1 s timeout" in done.error


def finished(model, pk):
    row = model.objects.get(pk=pk)
    return row if row.status in ("complete", "failed", "aborted") else None
