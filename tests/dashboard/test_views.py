"""The dashboard through Django's test client: who may look and act, what it shows, and that its
figures are ``arq_status --json``'s."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from arq_django import enqueue
from arq_django.models import JobResult

pytestmark = pytest.mark.django_db
Status = JobResult.Status
DASHBOARD = reverse("admin:arq_django_jobsdashboard_changelist")


def client_for(name: str, *perms: str, staff: bool = True) -> Client:
    user = User.objects.create_user(name, is_staff=staff)
    for codename in perms:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    client = Client()
    client.force_login(user)
    return client


def failed_row(job_id: str = "failed-1", **extra: object) -> JobResult:
    now = timezone.now()
    values: dict[str, object] = {
        "function": "add",
        "queue_name": "arq:queue",
        "args": [1, 2],
        "kwargs": {},
        "tries": 1,
        "enqueued_at": now - dt.timedelta(seconds=5),
        "started_at": now - dt.timedelta(seconds=2),
        "finished_at": now - dt.timedelta(seconds=1),
        "error": "ValueError: <b>kaput</b>",
        "traceback": "\n".join(f"line {i}" for i in range(20)),
        **extra,
    }
    return JobResult.objects.create(job_id=job_id, status=Status.FAILED, **values)


def write_beat(redis_client, host: str, pid: int, *, age: float, **figures: int) -> None:
    """A worker's heartbeat key, as a live worker writes it, ``age`` seconds old."""
    now = timezone.now().timestamp()
    beat = {"queue": "arq:queue", "host": host, "pid": pid, "started_at": now - 600, "beat_at": now - age}
    counts = {"jobs_complete": 0, "jobs_failed": 0, "jobs_retried": 0, "jobs_running": 0, "max_jobs": 10}
    beat |= counts | figures | {"last_job_at": None}
    redis_client.set(f"arq_django:worker:{host}:{pid}:1", json.dumps(beat))


def retry_url(row: JobResult) -> str:
    return reverse("admin:arq_django_jobsdashboard_retry", args=[row.pk])


def test_staff_without_view_permission_is_refused(redis_url):
    row = failed_row()
    nobody = client_for("nobody")
    assert nobody.get(DASHBOARD).status_code == 403
    assert nobody.get(DASHBOARD, {"format": "json"}).status_code == 403
    assert nobody.post(retry_url(row)).status_code == 403
    outsider = client_for("outsider", "view_jobresult", staff=False)
    assert outsider.get(DASHBOARD).status_code == 302  # the admin's login page
    assert not JobResult.objects.filter(retry_of=row).exists()


def test_view_permission_may_look_but_not_act(redis_url):
    row = failed_row()
    viewer = client_for("viewer", "view_jobresult")
    page = viewer.get(DASHBOARD).content.decode()
    assert "failed-1" in page and "Retry" not in page
    assert "ValueError: &lt;b&gt;kaput&lt;/b&gt;" in page  # escaped
    assert "line 5" in page and "line 6" not in page  # the traceback's first lines only
    assert reverse("admin:arq_django_jobresult_change", args=[row.pk]) in page
    assert viewer.post(retry_url(row)).status_code == 403
    abort = reverse("admin:arq_django_jobsdashboard_abort", args=[row.pk])
    assert viewer.post(abort).status_code == 403
    assert not JobResult.objects.filter(retry_of=row).exists()


def test_change_permission_retries_from_the_page(redis_url, redis_client):
    row = failed_row()
    operator = client_for("operator", "view_jobresult", "change_jobresult")
    assert 'class="button arq-retry"' in operator.get(DASHBOARD).content.decode()
    answer = operator.post(retry_url(row), HTTP_X_REQUESTED_WITH="arq-dashboard")
    assert answer.status_code == 200 and answer.json()["ok"], answer.content
    retried = JobResult.objects.get(retry_of=row)
    assert redis_client.zscore("arq:queue", retried.job_id) is not None
    page = operator.get(DASHBOARD, {"partial": "1"}).content.decode()
    assert f"retried as <code>{retried.job_id}</code>: queued" in page
    assert "<html" not in page  # the refresh gets the body only
    # Without JavaScript: a form post, then back to the page with a message.
    followed = operator.post(retry_url(row), follow=True)
    assert followed.redirect_chain[-1][0] == DASHBOARD
    assert "Re-enqueued job failed-1" in followed.content.decode()


def test_abort_answers_for_a_finished_job(redis_url):
    row = failed_row()
    operator = client_for("operator", "view_jobresult", "change_jobresult")
    abort = reverse("admin:arq_django_jobsdashboard_abort", args=[row.pk])
    answer = operator.post(abort, HTTP_X_REQUESTED_WITH="arq-dashboard")
    assert answer.status_code == 409 and "nothing to abort" in answer.json()["message"]


def test_abort_asks_workers_to_stop_a_running_job(redis_url, redis_client):
    from arq.constants import abort_jobs_ss

    handle = enqueue("add", 1, 2)
    row = JobResult.objects.get(job_id=handle.job_id)
    JobResult.objects.filter(pk=row.pk).update(status=Status.IN_PROGRESS, started_at=timezone.now())
    operator = client_for("operator", "view_jobresult", "change_jobresult")
    page = operator.get(DASHBOARD).content.decode()
    assert 'class="button arq-abort"' in page and handle.job_id in page
    answer = operator.post(
        reverse("admin:arq_django_jobsdashboard_abort", args=[row.pk]), HTTP_X_REQUESTED_WITH="arq-dashboard"
    )
    assert answer.json()["ok"], answer.content
    assert redis_client.zscore(abort_jobs_ss, handle.job_id) is not None


def test_linked_from_the_changelist_and_the_index(redis_url):
    viewer = client_for("viewer", "view_jobresult")
    changelist = viewer.get(reverse("admin:arq_django_jobresult_changelist")).content.decode()
    index = viewer.get(reverse("admin:index")).content.decode()
    assert f'href="{DASHBOARD}"' in changelist
    assert DASHBOARD in index and "Jobs dashboard" in index
    nobody = client_for("nobody")
    assert DASHBOARD not in nobody.get(reverse("admin:index")).content.decode()


def test_figures_are_arq_status_json_at_the_same_moment(redis_url, redis_client, capsys):
    for i in range(3):
        enqueue("add", i, i)
    enqueue("mail_job", 1)
    enqueue("add", 9, 9, _defer_by=dt.timedelta(hours=1))
    # A worker's heartbeat, as a live one writes it, and its job held in progress.
    write_beat(redis_client, "web-1", 4242, age=0.0, jobs_complete=7, jobs_running=1)
    running = enqueue("add", 5, 5)
    redis_client.set("arq:in-progress:" + running.job_id, b"1")
    viewer = client_for("viewer", "view_jobresult")

    page = json.loads(viewer.get(DASHBOARD, {"format": "json"}).content)
    capsys.readouterr()
    call_command("arq_status", "--json")
    status = json.loads(capsys.readouterr().out)

    def figures(queues: list[dict[str, object]]) -> list[dict[str, object]]:
        keys = ("queue", "queued", "deferred", "running", "workers", "last_hour")
        return [{k: q[k] for k in keys} for q in queues]

    assert figures(page["queues"]) == figures(status["queues"])
    by_queue = {q["queue"]: q for q in page["queues"]}
    assert (by_queue["arq:queue"]["queued"], by_queue["arq:queue"]["deferred"]) == (3, 1)
    assert (by_queue["arq:queue"]["running"], by_queue["mail"]["queued"]) == (1, 1)
    worker_keys = ("host", "pid", "queue", "jobs_running", "beat_at")
    assert [{k: w[k] for k in worker_keys} for w in page["workers"]] == [
        {k: w[k] for k in worker_keys} for w in status["workers"]
    ]
    assert page["workers"][0]["lost"] is False
    # The HTML shows the same figures.
    html = viewer.get(DASHBOARD).content.decode()
    for q in status["queues"]:
        assert (
            f'data-queue="{q["queue"]}" data-queued="{q["queued"]}" data-deferred="{q["deferred"]}" '
            f'data-running="{q["running"]}" data-workers="{q["workers"]}"'
        ) in html
    assert 'data-worker="web-1:4242"' in html


def test_a_worker_past_its_heartbeat_is_lost(redis_url, redis_client, settings):
    # Six intervals of 5 s old: its key has outlived it (a stalled loop).
    write_beat(redis_client, "old-host", 1, age=30.0)
    html = client_for("viewer", "view_jobresult").get(DASHBOARD).content.decode()
    assert 'class="arq-lost"' in html and ">lost<" in html
