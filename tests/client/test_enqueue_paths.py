"""Every enqueue path creates the job's mirror row as ``enqueue()`` does (issue 21, point 7):
``arq_enqueue``, ``arq_retry`` and the API's POST all go through ``ops.actions.submit``."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from arq_django import enqueue
from arq_django.models import JobResult
from tests.conftest import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
TOKEN = "first-hour-token-0123456789abcdef"


def test_arq_enqueue_creates_the_row(redis_url, capsys):
    call_command("arq_enqueue", "add", "--args", "[1, 2]", "--defer", "1h")
    job_id = capsys.readouterr().out.strip()
    row = JobResult.objects.get(job_id=job_id)
    assert row.status == JobResult.Status.DEFERRED and row.function == "add" and row.args == [1, 2]
    assert row.scheduled_for is not None


def test_arq_retry_creates_the_row(thread_worker, capsys):
    worker = thread_worker()
    failed = enqueue("boom", "once")
    assert failed is not None
    wait_for(failed.result_info)
    worker.stop()  # the retried job must not run: the row has to come from arq_retry itself
    capsys.readouterr()
    call_command("arq_retry", failed.job_id)
    new_id = capsys.readouterr().out.strip().split(" -> ")[1]
    row = JobResult.objects.get(job_id=new_id)
    assert row.status == JobResult.Status.QUEUED and row.function == "boom" and row.args == ["once"]


def test_the_api_post_creates_the_row(redis_url, settings, client):
    settings.ARQ_DJANGO = {**settings.ARQ_DJANGO, "API_TOKENS": [TOKEN], "API_ENQUEUE_ALLOWED": ["add"]}
    response = client.post(
        "/arq/api/jobs/",
        json.dumps({"name": "add", "args": [2, 3], "defer": 3600}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {TOKEN}",
    )
    assert response.status_code == 202, response.content
    row = JobResult.objects.get(job_id=response.json()["job_id"])
    assert row.status == JobResult.Status.DEFERRED and row.args == [2, 3]
