"""``TaskModelAdmin``: status columns and filters, "Run selected" / "Reset selected" behind the change
permission (as the ``JobResult`` admin's actions)."""

from __future__ import annotations

import pytest
from arq.constants import abort_jobs_ss
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.model_tasks_app.models import Export

pytestmark = pytest.mark.django_db(transaction=True)
CHANGELIST = "/admin/tests_model_tasks_app/export/"


def client_for(name: str, *, staff: bool, superuser: bool = False, perms: tuple[str, ...] = ()) -> Client:
    user = User.objects.create_user(name, is_staff=staff, is_superuser=superuser)
    for codename in perms:
        user.user_permissions.add(
            Permission.objects.get(codename=codename, content_type__app_label="tests_model_tasks_app")
        )
    client = Client()
    client.force_login(user)
    return client


def act(client: Client, action: str, *rows: Export):
    return client.post(
        CHANGELIST, {"action": action, "_selected_action": [str(r.pk) for r in rows]}, follow=True
    )


@pytest.fixture
def rows(redis_url):
    done = Export.objects.create(name="done")
    failed = Export.objects.create(name="failed")
    running = Export.objects.create(name="running")
    Export.objects.filter(pk=done.pk).update(status="complete", result={"ok": 1})
    Export.objects.filter(pk=failed.pk).update(status="failed", error="ValueError: x", traceback="tb")
    Export.objects.filter(pk=running.pk).update(status="in_progress")
    return {r.name: Export.objects.get(pk=r.pk) for r in (done, failed, running)}


def test_list_shows_status_columns_and_filter(rows):
    staff = client_for("admin", staff=True, superuser=True)
    page = staff.get(CHANGELIST).content.decode()
    assert "done" in page and "in_progress" in page and "run_selected" in page and "reset_selected" in page
    filtered = staff.get(CHANGELIST + "?status__exact=failed").content.decode()
    assert "failed" in filtered and ">done<" not in filtered


def test_run_selected_enqueues_new_jobs_in_bulk_and_skips_running_rows(rows, redis_client):
    staff = client_for("admin", staff=True, superuser=True)
    before = {name: row.job_id for name, row in rows.items()}
    queued = redis_client.zcard("rows")
    with CaptureQueriesContext(connection) as queries:
        page = act(staff, "run_selected", *rows.values()).content.decode()
    assert "Enqueued 2 row(s)." in page and "Skipped 1 row(s) in progress." in page
    done = Export.objects.get(pk=rows["done"].pk)
    assert done.status == "queued" and done.result is None and done.job_id != before["done"]
    assert Export.objects.get(pk=rows["running"].pk).job_id == before["running"]
    assert redis_client.zcard("rows") == queued + 2
    updates = [q for q in queries.captured_queries if q["sql"].startswith("UPDATE") and "export" in q["sql"]]
    assert len(updates) == 1  # one UPDATE for all rows, not one per row


def test_reset_selected_clears_the_outcome_and_aborts_old_jobs(rows, redis_client):
    staff = client_for("admin", staff=True, superuser=True)
    old = rows["failed"].job_id
    page = act(staff, "reset_selected", rows["failed"], rows["done"]).content.decode()
    assert "Reset 2 row(s)" in page
    failed = Export.objects.get(pk=rows["failed"].pk)
    assert (failed.status, failed.error, failed.traceback, failed.job_id, failed.tries) == (
        "queued",
        "",
        "",
        "",
        0,
    )
    assert redis_client.zscore(abort_jobs_ss, old) is not None


def test_without_change_permission_no_action_runs(rows, redis_client):
    queued = redis_client.zcard("rows")
    outsider = client_for("outsider", staff=False)
    assert outsider.get(CHANGELIST).status_code == 302
    act(outsider, "run_selected", rows["done"])
    viewer = client_for("viewer", staff=True, perms=("view_export",))
    page = viewer.get(CHANGELIST)
    assert page.status_code == 200 and "run_selected" not in page.content.decode()
    act(viewer, "run_selected", rows["done"])
    act(viewer, "reset_selected", rows["failed"])
    assert Export.objects.get(pk=rows["done"].pk).status == "complete"
    assert Export.objects.get(pk=rows["failed"].pk).error == "ValueError: x"
    assert redis_client.zcard("rows") == queued
    changer = client_for("changer", staff=True, perms=("view_export", "change_export"))
    act(changer, "run_selected", rows["done"])
    assert Export.objects.get(pk=rows["done"].pk).status == "queued"
