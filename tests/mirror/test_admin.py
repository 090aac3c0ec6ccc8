"""The JobResult admin through Django's test client: staff can list, filter, read and act; others not."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from arq.constants import abort_jobs_ss, result_key_prefix
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from arq_django import enqueue
from arq_django.models import JobResult

pytestmark = pytest.mark.django_db
Status = JobResult.Status
CHANGELIST = reverse("admin:arq_django_jobresult_changelist")


def make(job_id: str, status: str, **extra) -> JobResult:
    now = timezone.now()
    values = {
        "function": "add",
        "queue_name": "arq:queue",
        "args": [1, 2],
        "kwargs": {},
        # five minutes ago, but never before today's midnight: the admin's "Today" filter must find it
        "enqueued_at": max(
            now - dt.timedelta(minutes=5),
            timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0),
        ),
        "tries": 1,
        **extra,
    }
    return JobResult.objects.create(job_id=job_id, status=status, **values)


@pytest.fixture
def jobs(redis_url):
    now = timezone.now()
    return {
        "done": make("done-1", Status.COMPLETE, result={"sum": 3}, started_at=now, finished_at=now),
        "failed": make(
            "failed-1",
            Status.FAILED,
            function="boom",
            args=["<script>alert(1)</script>"],
            error="ValueError: kaput",
            traceback='Traceback:\n  raise ValueError("<b>kaput</b>")',
        ),
        "running": make("running-1", Status.IN_PROGRESS, progress=0.42, progress_message="crunching"),
    }


def client_for(*, staff: bool, superuser: bool = False, perms: tuple[str, ...] = ()) -> Client:
    user = User.objects.create_user(
        f"u-{staff}-{superuser}-{len(perms)}", is_staff=staff, is_superuser=superuser
    )
    for codename in perms:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def staff():
    return client_for(staff=True, superuser=True)


def act(client: Client, action: str, *rows: JobResult, **extra: str):
    data = {"action": action, "_selected_action": [str(r.pk) for r in rows], **extra}
    return client.post(CHANGELIST, data, follow=True)


def test_list_shows_jobs_with_progress_and_filters(staff, jobs):
    page = staff.get(CHANGELIST).content.decode()
    assert all(job_id in page for job_id in ("done-1", "failed-1", "running-1"))
    assert '<progress value="0.420" max="1" title="crunching"></progress> 42%' in page
    failed_only = staff.get(CHANGELIST, {"status__exact": "failed"}).content.decode()
    assert "failed-1" in failed_only and "done-1" not in failed_only
    by_function = staff.get(CHANGELIST, {"function": "boom"}).content.decode()
    assert "failed-1" in by_function and "running-1" not in by_function
    searched = staff.get(CHANGELIST, {"q": "running-1"}).content.decode()
    assert "running-1" in searched and "done-1" not in searched
    today_link = re.search(r'href="(\?enqueued_at__gte=[^"]+)"', page)  # the date filter's "Today"
    assert today_link is not None
    today = staff.get(CHANGELIST + html.unescape(today_link.group(1)))
    assert today.status_code == 200 and "done-1" in today.content.decode()


def test_detail_is_read_only_and_escaped(staff, jobs):
    url = reverse("admin:arq_django_jobresult_change", args=[jobs["failed"].pk])
    page = staff.get(url).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page
    assert "raise ValueError(&quot;&lt;b&gt;kaput&lt;/b&gt;&quot;)" in page
    assert 'name="_save"' not in page
    done = staff.get(reverse("admin:arq_django_jobresult_change", args=[jobs["done"].pk])).content.decode()
    assert "&quot;sum&quot;: 3" in done
    assert staff.post(url, {"status": "complete"}).status_code == 403
    assert staff.get(reverse("admin:arq_django_jobresult_add")).status_code == 403
    jobs["failed"].refresh_from_db()
    assert jobs["failed"].status == Status.FAILED


def test_retry_enqueues_a_linked_job(staff, jobs, redis_client):
    act(staff, "retry_jobs", jobs["done"], jobs["running"])
    retry = JobResult.objects.get(retry_of=jobs["done"])
    assert retry.status == Status.QUEUED and retry.function == "add" and retry.args == [1, 2]
    assert redis_client.zscore("arq:queue", retry.job_id) is not None
    assert not JobResult.objects.filter(retry_of=jobs["running"]).exists()  # unfinished: skipped


def test_retry_reports_a_job_that_is_no_longer_registered(staff, jobs):
    gone = make("gone-1", Status.FAILED, function="removed_job")
    page = act(staff, "retry_jobs", gone).content.decode()
    assert "Job &#x27;removed_job&#x27; is not registered" in page and "Re-enqueued" not in page
    assert not JobResult.objects.filter(retry_of=gone).exists()


def test_abort_asks_workers_to_stop_queued_and_running_jobs(staff, redis_client):
    handle = enqueue("add", 1, 1)
    row = JobResult.objects.get(job_id=handle.job_id)
    page = act(staff, "abort_jobs", row).content.decode()
    assert "Abort requested for 1 job(s)" in page
    assert redis_client.zscore(abort_jobs_ss, handle.job_id) is not None


def test_delete_removes_rows_and_their_results(staff, jobs, redis_client):
    redis_client.set(result_key_prefix + "done-1", b"x")
    act(staff, "delete_selected", jobs["done"], post="yes")
    assert not JobResult.objects.filter(job_id="done-1").exists()
    assert not redis_client.exists(result_key_prefix + "done-1")  # reconcile cannot bring it back


def test_non_staff_and_view_only_users_cannot_act(jobs, redis_client):
    outsider = client_for(staff=False)
    assert outsider.get(CHANGELIST).status_code == 302  # to the login page
    act(outsider, "retry_jobs", jobs["done"])
    act(outsider, "delete_selected", jobs["done"], post="yes")
    viewer = client_for(staff=True, perms=("view_jobresult",))
    assert viewer.get(CHANGELIST).status_code == 200
    page = viewer.get(CHANGELIST).content.decode()
    assert "retry_jobs" not in page and "abort_jobs" not in page
    act(viewer, "retry_jobs", jobs["done"])
    act(viewer, "delete_selected", jobs["done"], post="yes")
    assert JobResult.objects.filter(job_id="done-1").exists()
    assert not JobResult.objects.filter(retry_of__isnull=False).exists()
    assert redis_client.zcard("arq:queue") == 0
