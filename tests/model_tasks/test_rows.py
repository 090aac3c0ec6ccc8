"""Task rows on real workers: a saved row is a job and its outcome lands on the row."""

from __future__ import annotations

import logging

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from arq_django.model_tasks.submit import job_name
from arq_django.models import JobResult
from tests.conftest import wait_for
from tests.model_tasks_app.models import AsyncExport, Export

pytestmark = pytest.mark.django_db(transaction=True)


def finished(model, pk):
    row = model.objects.get(pk=pk)
    return row if row.status in ("complete", "failed", "aborted") else None


def test_a_created_row_is_run_by_a_real_worker_and_its_result_written_back(redis_url, start_worker):
    start_worker(env={"ARQ_QUEUE": "rows"})
    row = Export.objects.create(name="invoices")
    done = wait_for(lambda: finished(Export, row.pk))
    assert done.status == "complete"
    assert done.result == {"name": "invoices", "try": 1}
    assert done.rows_written == len("invoices")  # a field the task set on the row is saved
    assert done.started_at and done.finished_at and done.finished_at >= done.started_at
    assert done.tries == 1 and done.error == "" and done.traceback == ""
    mirror = wait_for(lambda: JobResult.objects.filter(job_id=done.job_id, status="complete").first())
    assert mirror.function == job_name(Export) == "tests_model_tasks_app.Export.do_task"
    assert done.job_result() == mirror


def test_failure_puts_error_and_traceback_on_the_row(redis_url, thread_worker):
    thread_worker("rows")
    row = Export.objects.create(name="x", mode="fail")
    done = wait_for(lambda: finished(Export, row.pk))
    assert done.status == "failed"
    assert done.error == "ValueError: cannot export x"
    assert "Traceback" in done.traceback and "do_task" in done.traceback
    assert done.result is None and done.rows_written is None


def test_retry_until_success(redis_url, thread_worker):
    thread_worker("rows")
    row = Export.objects.create(name="flaky", mode="flaky", fail_tries=2)
    done = wait_for(lambda: finished(Export, row.pk))
    assert done.status == "complete" and done.tries == 3
    assert done.result == {"name": "flaky", "try": 3}
    assert done.error == ""


def test_rollback_enqueues_nothing(redis_url, redis_client):
    with pytest.raises(RuntimeError), transaction.atomic():
        Export.objects.create(name="never")
        assert redis_client.zcard("rows") == 0  # not before the commit either
        raise RuntimeError("roll back")
    assert redis_client.zcard("rows") == 0
    assert not Export.objects.exists()
    with transaction.atomic():
        row = Export.objects.create(name="committed")
        assert redis_client.zcard("rows") == 0
    assert redis_client.zcard("rows") == 1
    assert redis_client.exists(f"arq:job:{row.job_id}")


def test_saving_an_existing_row_does_not_enqueue_again_but_run_does(redis_url, redis_client):
    row = Export.objects.create(name="once")
    first = row.job_id
    row.name = "renamed"
    row.save()
    assert redis_client.zcard("rows") == 1
    row.run()
    assert row.job_id != first and row.status == "queued"
    assert redis_client.zcard("rows") == 2


def test_a_row_deleted_before_it_ran_ends_its_job_as_a_logged_no_op(redis_url, thread_worker, caplog):
    row = Export.objects.create(name="gone")
    job_id, pk = row.job_id, row.pk
    row.delete()
    caplog.set_level(logging.INFO, logger="arq_django.model_tasks")
    thread_worker("rows")
    mirror = wait_for(lambda: JobResult.objects.filter(job_id=job_id, status="complete").first())
    assert mirror.result is None
    assert f"tests_model_tasks_app.Export pk={pk} was deleted before its job ran" in caplog.text


def test_bulk_create_enqueues_every_row_in_one_pipeline(redis_url, redis_client, thread_worker):
    with transaction.atomic():
        rows = Export.objects.bulk_create([Export(name=f"r{i}") for i in range(20)])
        assert redis_client.zcard("rows") == 0
    assert redis_client.zcard("rows") == 20
    assert len({r.job_id for r in rows}) == 20
    thread_worker("rows")
    wait_for(lambda: Export.objects.filter(status="complete").count() == 20)
    assert sorted(Export.objects.values_list("rows_written", flat=True)) == sorted(
        len(f"r{i}") for i in range(20)
    )


def test_bulk_run_is_one_select_one_update(redis_url, redis_client):
    rows = Export.objects.bulk_create([Export(name=f"r{i}") for i in range(10)])
    with CaptureQueriesContext(connection) as queries:
        assert Export.objects.filter(pk__in=[r.pk for r in rows]).run() == 10
    sql = [q["sql"] for q in queries.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    statements = [s.split()[0] for s in sql]
    assert statements.count("SELECT") == 1 and statements.count("UPDATE") == 1, sql
    assert redis_client.zcard("rows") == 20


def test_async_ado_task(redis_url, thread_worker):
    thread_worker("rows")
    row = AsyncExport.objects.create(name="abc")
    done = wait_for(lambda: finished(AsyncExport, row.pk))
    assert done.status == "complete" and done.result == "async abc" and done.rows_written == 6
    failing = AsyncExport.objects.create(name="abc", mode="fail")
    done = wait_for(lambda: finished(AsyncExport, failing.pk))
    assert done.status == "failed" and done.error == "RuntimeError: async boom"
    assert "ado_task" in done.traceback


def test_progress_reaches_the_mirror(redis_url, thread_worker):
    thread_worker("rows")
    row = Export.objects.create(name="p")
    done = wait_for(lambda: finished(Export, row.pk))
    mirror = wait_for(lambda: JobResult.objects.filter(job_id=done.job_id, progress__isnull=False).first())
    assert mirror.progress == 0.5


def test_abort_and_timeout_of_an_async_row(redis_url, thread_worker):
    thread_worker("rows")
    hung = AsyncExport.objects.create(name="abort me", mode="hang")
    wait_for(lambda: AsyncExport.objects.get(pk=hung.pk).status == "in_progress")
    handle = hung.job()
    assert handle is not None and handle.abort(wait=10)
    done = wait_for(lambda: finished(AsyncExport, hung.pk))
    assert done.status == "aborted" and done.error == "CancelledError: aborted"
    timed_out = AsyncExport.objects.create(name="slow", mode="hang")
    done = wait_for(lambda: finished(AsyncExport, timed_out.pk), timeout=30)
    assert done.status == "failed" and "timed out" in done.error


def test_abort_of_a_sync_row_is_on_the_row_even_though_its_thread_runs_on(
    redis_url, redis_client, thread_worker
):
    from tests.model_tasks_app.models import RELEASE_KEY

    thread_worker("rows")
    row = Export.objects.create(name="stop me", mode="block")
    wait_for(lambda: Export.objects.get(pk=row.pk).status == "in_progress")
    assert row.job().abort(wait=10)
    redis_client.set(RELEASE_KEY, 1)  # the thread returns its result after the job was aborted
    done = wait_for(lambda: finished(Export, row.pk))
    assert (
        done.status == "aborted" and done.result is None and done.error.startswith("CancelledError: aborted")
    )


def test_a_row_saved_while_redis_is_down_names_the_row_and_the_fix_once(settings):
    """The row is saved, its job is not: one error naming the model, the Redis failure and what to do."""
    from arq_django import embedded
    from arq_django.connection import close_sync_clients
    from arq_django.exceptions import EnqueueError

    settings.ARQ_DJANGO = {**settings.ARQ_DJANGO, "REDIS_URL": f"redis://127.0.0.1:{embedded.free_port()}/0"}
    close_sync_clients()
    try:
        with pytest.raises(EnqueueError) as raised:
            Export.objects.create(name="offline")
    finally:
        close_sync_clients()
    message = str(raised.value)
    assert "tests_model_tasks_app.Export row(s)" in message and "'Run selected'" in message
    assert message.count("Redis at ") == 1 and "Nothing was written" not in message, message
    assert Export.objects.get(name="offline").status == "queued"
