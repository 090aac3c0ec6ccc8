"""One truth about a job (issue 21, point 6): the handle, the result mirror, the API and the commands
report the same status, and an unstorable result is a failure naming its type and the fix."""

from __future__ import annotations

import json

import pytest
from arq.jobs import JobStatus
from django.core.management import call_command

from arq_django import JobFailed, JobState, enqueue
from arq_django.models import JobResult
from tests.conftest import wait_for, wait_for_async

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
TOKEN = "first-hour-token-0123456789abcdef"


def _row(job_id: str, status: str) -> JobResult | None:
    return JobResult.objects.filter(job_id=job_id, status=status).first()


def _api_status(client, settings, job_id: str) -> dict:
    settings.ARQ_DJANGO = {**settings.ARQ_DJANGO, "API_TOKENS": [TOKEN]}
    response = client.get(f"/arq/api/jobs/{job_id}/", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content
    return response.json()


def _results_command(capsys, job_id: str) -> dict:
    capsys.readouterr()
    call_command("arq_results", "--json")
    return next(r for r in json.loads(capsys.readouterr().out) if r["job_id"] == job_id)


def test_a_job_that_raised_is_failed_everywhere(thread_worker, client, settings, capsys):
    thread_worker()
    handle = enqueue("boom", "bad input")
    assert handle is not None
    wait_for(handle.result_info)
    assert handle.status() == JobState.failed and handle.status() != JobStatus.complete
    assert wait_for(lambda: _row(handle.job_id, "failed"))
    assert _api_status(client, settings, handle.job_id)["status"] == "failed"
    assert _results_command(capsys, handle.job_id)["status"] == "failed"


async def test_astatus_agrees(thread_worker):
    thread_worker()
    failed, done = await _aenqueue("boom", "x"), await _aenqueue("add", 1, 2)
    assert await wait_for_async(lambda: _finished(failed)) == JobState.failed
    assert await wait_for_async(lambda: _finished(done)) == JobState.complete


async def _aenqueue(name, *args):
    from arq_django import aenqueue

    handle = await aenqueue(name, *args)
    assert handle is not None
    return handle


async def _finished(handle):
    state = await handle.astatus()
    return state if state in (JobState.complete, JobState.failed) else None


def test_an_unstorable_result_is_a_failure_that_names_the_type(thread_worker, client, settings, capsys):
    thread_worker()
    handle = enqueue("unstorable")
    assert handle is not None
    with pytest.raises(JobFailed) as caught:
        handle.result(timeout=20)
    for text in (str(caught.value), handle.result_info().result.message):
        assert "django.contrib.auth.models.User" in text and "primary key (User.pk)" in text
    assert handle.status() == JobState.failed
    row = wait_for(lambda: _row(handle.job_id, "failed"))
    assert "django.contrib.auth.models.User" in row.error and row.result is None
    detail = _api_status(client, settings, handle.job_id)
    assert detail["status"] == "failed" and "django.contrib.auth.models.User" in detail["error"]
    listed = _results_command(capsys, handle.job_id)
    assert listed["status"] == "failed" and "django.contrib.auth.models.User" in listed["error"]


def test_a_job_waiting_for_its_next_try_is_retrying_in_the_handle_and_the_mirror(thread_worker):
    thread_worker()
    handle = enqueue("retry_later")
    assert handle is not None
    assert wait_for(lambda: handle.status() == JobState.retrying)
    assert wait_for(lambda: _row(handle.job_id, "retrying"))
