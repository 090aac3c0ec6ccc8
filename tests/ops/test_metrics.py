"""``arq/metrics``: Prometheus text that prometheus_client's own parser reads, behind the API's guard."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from arq_django import enqueue
from tests.conftest import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

TOKEN = "metrics-" + "m" * 32
API_TOKEN = "api-" + "a" * 32


@pytest.fixture
def metrics_settings(settings, redis_url):
    settings.ARQ_DJANGO = {**settings.ARQ_DJANGO, "API_TOKENS": [API_TOKEN], "QUEUES": ["arq:queue", "mail"]}
    return settings


def scrape(client: Client, token: str = API_TOKEN) -> dict[str, list]:
    response = client.get("/arq/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    families = text_string_to_metric_families(response.content.decode())
    return {f.name: f.samples for f in families}


def value(samples, name: str, **labels) -> float:
    matches = [s.value for s in samples if s.name == name and labels.items() <= s.labels.items()]
    assert len(matches) == 1, (name, labels, samples)
    return matches[0]


def test_metrics_from_several_workers_add_up(metrics_settings, client, thread_worker, redis_client):
    enqueue("add", 1, 1, _defer_by=3600)  # deferred
    first, second = thread_worker(), thread_worker()
    handles = [enqueue("count", "m", seconds=0.02) for _ in range(10)] + [enqueue("boom", "x")]
    slow = enqueue("count", "slow", seconds=30)
    for h in handles:
        wait_for(h.result_info)
    # Running its handler (not just claimed), so stopping the worker cuts it short as a retry.
    wait_for(lambda: any(slow.job_id in w.worker.job_tasks for w in (first, second)))
    enqueue("add", 2, 2, _queue_name="mail")  # waits: nobody serves mail

    def settled():  # each worker writes its figures within 50 ms of a job's end (worker.stats.GATHER_S)
        m = scrape(client)
        jobs = [s for s in m["arq_jobs"] if s.name == "arq_jobs_total"]
        done = [
            s.value for s in jobs if {"function": "count", "outcome": "complete"}.items() <= s.labels.items()
        ]
        failed = [
            s.value for s in jobs if {"function": "boom", "outcome": "failed"}.items() <= s.labels.items()
        ]
        return m if (done, failed) == ([10], [1]) else None

    metrics = wait_for(settled)
    assert value(metrics["arq_jobs"], "arq_jobs_total", function="boom", outcome="failed") == 1
    assert value(metrics["arq_workers"], "arq_workers", queue="arq:queue") == 2
    assert value(metrics["arq_workers"], "arq_workers", queue="mail") == 0
    assert value(metrics["arq_running_jobs"], "arq_running_jobs", queue="arq:queue") == 1
    assert value(metrics["arq_queue_jobs"], "arq_queue_jobs", queue="arq:queue", state="deferred") == 1
    assert value(metrics["arq_queue_jobs"], "arq_queue_jobs", queue="arq:queue", state="queued") == 0
    assert value(metrics["arq_queue_jobs"], "arq_queue_jobs", queue="mail", state="queued") == 1
    assert value(metrics["arq_queue_oldest_age_seconds"], "arq_queue_oldest_age_seconds", queue="mail") >= 0
    duration = metrics["arq_job_duration_seconds"]
    assert value(duration, "arq_job_duration_seconds_count", function="count") == 10
    assert value(duration, "arq_job_duration_seconds_bucket", function="count", le="+Inf") == 10
    assert value(duration, "arq_job_duration_seconds_bucket", function="count", le="0.005") == 0
    assert value(duration, "arq_job_duration_seconds_sum", function="count") >= 10 * 0.015
    first.stop()
    second.stop()
    after = scrape(client)
    assert value(after["arq_workers"], "arq_workers", queue="arq:queue") == 0
    # Counters live in Redis: a stopped fleet's totals stay; the job cut short by the shutdown counts
    # as retrying (it stays queued; the second worker may pick it up before it stops too).
    assert value(after["arq_jobs"], "arq_jobs_total", function="count", outcome="complete") == 10
    assert value(after["arq_jobs"], "arq_jobs_total", function="count", outcome="retrying") in (1, 2)
    # Still on its queue (waiting, or claimed by a worker that was stopping): not lost.
    jobs = after["arq_queue_jobs"]
    waiting = value(jobs, "arq_queue_jobs", queue="arq:queue", state="queued")
    assert waiting + value(after["arq_running_jobs"], "arq_running_jobs", queue="arq:queue") == 1


def test_metrics_access(metrics_settings, client, django_user_model, settings):
    assert client.get("/arq/metrics").status_code == 401
    assert client.get("/arq/metrics", HTTP_AUTHORIZATION="Bearer nope").status_code == 401
    plain = Client()
    plain.force_login(django_user_model.objects.create_user("plain", password="pw"))
    assert plain.get("/arq/metrics").status_code == 403
    user = django_user_model.objects.create_user("staff", password="pw", is_staff=True)
    staff = Client()
    staff.force_login(user)
    denied = staff.get("/arq/metrics")  # staff status alone reads nothing
    assert denied.status_code == 403 and "arq_django.view_jobresult" in denied.json()["error"]
    user.user_permissions.add(Permission.objects.get(codename="view_jobresult"))
    staff = Client()
    staff.force_login(django_user_model.objects.get(pk=user.pk))
    assert staff.get("/arq/metrics").status_code == 200
    assert client.post("/arq/metrics", HTTP_AUTHORIZATION=f"Bearer {API_TOKEN}").status_code == 405
    # With a token of its own, the API's tokens no longer open the metrics.
    settings.ARQ_DJANGO = {**settings.ARQ_DJANGO, "METRICS_TOKENS": [TOKEN]}
    assert client.get("/arq/metrics", HTTP_AUTHORIZATION=f"Bearer {API_TOKEN}").status_code == 401
    assert "arq_workers" in scrape(client, TOKEN)
    assert client.get("/arq/metrics/", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200
