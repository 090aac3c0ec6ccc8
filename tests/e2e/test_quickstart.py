"""The README's quick start in a ``startproject`` with the wheel installed: every way a user enqueues,
both ways of running a worker, the result mirror's rows, the admin over HTTP and the health endpoint."""

from __future__ import annotations

import json
import os
import re

import pytest

from tests.e2e import readme
from tests.e2e.conftest import PASSWORD, Stack
from tests.e2e.project import Browser, wait_for

pytestmark = pytest.mark.e2e


def _job_id(stack: Stack, code: str) -> str:
    """Enqueue from ``manage.py shell``; the job's id."""
    out = stack.project.shell(f"from arq_django import enqueue\nprint(enqueue({code}).job_id)")
    return out.strip().splitlines()[-1]


def test_the_readme_shell_session_prints_what_it_shows(stack: Stack) -> None:
    """The quick start's ``manage.py shell`` transcript, line by line, against a real worker."""
    stack.ensure_worker()
    (block,) = [block for block in readme.blocks() if block.kind == "shell"]
    steps = readme.shell_steps(block)
    script = [
        "print('=== the session ===')",  # Django 5.2+ shell announces its automatic imports first
        f"steps = {json.dumps([step.source for step in steps])}",
        "for source in steps:",
        "    try:",
        "        code = compile(source, '<README>', 'eval')",
        "    except SyntaxError:",
        "        exec(source)",
        "        print('---')",
        "    else:",
        "        value = eval(code)",
        "        print('' if value is None else repr(value))",
        "        print('---')",
    ]
    out = stack.project.shell("\n".join(script))
    printed = [part.strip() for part in out.split("=== the session ===")[-1].split("---")][: len(steps)]
    assert printed == [step.expected.strip() for step in steps], out


def test_a_sync_view_under_gunicorn_enqueues_and_the_row_completes(stack: Stack) -> None:
    stack.ensure_worker()
    status, body = stack.wsgi.get_json("/add/?a=2&b=5")
    assert status == 200, body
    row = stack.project.wait_row(body["job_id"], "complete")
    assert row["function"] == "add" and row["result"] == 7 and row["args"] == [2, 5]
    assert row["enqueued_at"] and row["started_at"] and row["finished_at"] and row["tries"] == 1


def test_an_async_view_under_uvicorn_enqueues_and_awaits_the_result(stack: Stack) -> None:
    stack.ensure_worker()
    status, body = stack.asgi.get_json("/add-and-wait/?a=4&b=6")
    assert status == 200 and body["result"] == 10, body
    assert stack.project.wait_row(body["job_id"], "complete")["result"] == 10


def test_sync_retrying_failing_and_cron_jobs_reach_their_rows(stack: Stack) -> None:
    stack.ensure_worker()
    slug = _job_id(stack, '"make_slug", "Hello World"')
    flaky = _job_id(stack, '"call_partner", fail_times=2')
    failing = _job_id(stack, '"charge_card", 5')
    assert stack.project.wait_row(slug, "complete")["result"] == "hello-world"
    row = stack.project.wait_row(flaky, "complete")
    assert row["result"] == 3 and row["tries"] == 3
    row = stack.project.wait_row(failing, "failed")
    assert row["error"] == "ValueError: card declined for 5"
    assert "card declined for 5" in row["traceback"] and row["finished_at"] and row["started_at"]
    # run_at_startup: every worker start ran the cron job once.
    cron = wait_for(lambda: stack.project.rows("function = ? AND status = ?", ("hourly_report", "complete")))
    assert cron[0]["result"] == "report sent"


def test_a_shell_that_enqueues_and_exits_leaves_its_row_written(stack: Stack) -> None:
    """Outside a transaction the enqueue-time row is buffered: the process writes it before it exits
    (and a burst of enqueues is written in batches, every row present)."""
    out = stack.project.shell(
        "from arq_django import enqueue\n"
        "ids = [enqueue('shop.jobs.add', i, 1, _defer_by=3600).job_id for i in range(50)]\n"
        "print(' '.join(ids))"
    )
    ids = out.strip().splitlines()[-1].split()
    assert len(ids) == 50
    found = {row["job_id"]: row for row in stack.project.rows("status = ?", ("deferred",))}
    assert set(ids) <= set(found), f"{len(set(ids) - set(found))} rows missing right after the shell exited"
    assert found[ids[7]]["args"] == [7, 1]


def test_a_plain_arq_producer_enqueues_and_reads_the_result(stack: Stack) -> None:
    """arq's own client with a JSON serializer, in the user's venv, no Django at all."""
    stack.ensure_worker()
    out = stack.project.python(
        "import asyncio, json\n"
        "from arq import create_pool\n"
        "from arq.connections import RedisSettings\n"
        "async def main():\n"
        f"    pool = await create_pool(RedisSettings.from_dsn({stack.project.redis_url!r}),\n"
        "        job_serializer=lambda v: json.dumps(v).encode(), job_deserializer=json.loads)\n"
        "    job = await pool.enqueue_job('add', 20, 22)\n"
        "    print(job.job_id, await job.result(timeout=20))\n"
        "    await pool.aclose()\n"
        "asyncio.run(main())\n"
    )
    job_id, result = out.split()
    assert result == "42"
    assert stack.project.wait_row(job_id, "complete")["result"] == 42


def test_the_admin_lists_shows_and_retries_jobs_for_a_logged_in_staff_user(stack: Stack) -> None:
    stack.ensure_worker()
    failing = _job_id(stack, '"charge_card", 9')
    row = stack.project.wait_row(failing, "failed")
    browser = Browser(stack.wsgi.base)
    browser.login_admin("admin", PASSWORD)
    status, page = browser.request("/admin/arq_django/jobresult/")
    assert status == 200 and failing in page, page[:3000]
    status, detail = browser.request(f"/admin/arq_django/jobresult/{row['id']}/change/")
    assert status == 200 and "card declined for 9" in detail, detail[:3000]
    form = {
        "csrfmiddlewaretoken": browser.csrf_token(page),
        "action": "retry_jobs",
        "_selected_action": [str(row["id"])],
        "index": "0",
    }
    status, after = browser.request("/admin/arq_django/jobresult/", form)
    assert status == 200, after[:3000]
    retried = wait_for(
        lambda: stack.project.rows("retry_of_id = ? AND status = ?", (row["id"], "failed")), 30
    )
    assert retried[0]["function"] == "charge_card" and retried[0]["args"] == [9]


def test_health_is_200_with_a_worker_and_503_without_and_manage_py_runs_workers_too(stack: Stack) -> None:
    stack.ensure_worker()
    status, report = stack.wsgi.get_json("/arq/health/")
    assert status == 200 and report["status"] == "ok", report
    stack.stop_worker()
    status, report = stack.wsgi.get_json("/arq/health/")
    assert status == 503 and report["checks"]["workers"]["ok"] is False, report
    assert "redis://" not in json.dumps(report)
    stack.start_worker("python manage.py arq_worker")
    status, report = stack.wsgi.get_json("/arq/health/")
    assert status == 200, report
    job_id = _job_id(stack, '"add", 30, 12')
    assert stack.project.wait_row(job_id, "complete")["result"] == 42
    stack.stop_worker()


def test_the_worker_stops_cleanly_and_says_so(stack: Stack) -> None:
    worker = stack.start_worker()
    stack.stop_worker()
    assert not re.search(r"Traceback|Error", worker.output()), worker.output()


def test_the_jobs_dashboard_shows_the_project_s_jobs_to_staff(stack: Stack) -> None:
    """The admin's "Jobs dashboard" in the user's project, served by gunicorn: its SVG charts and the
    latest failure, with the static files it needs shipped in the wheel."""
    stack.ensure_worker()
    failing = _job_id(stack, '"charge_card", 11')
    stack.project.wait_row(failing, "failed")
    anonymous = Browser(stack.wsgi.base)
    status, login = anonymous.request("/admin/arq_django/jobsdashboard/")
    assert status == 200 and "card declined" not in login and 'name="password"' in login  # the login page
    browser = Browser(stack.wsgi.base)
    browser.login_admin("admin", PASSWORD)
    status, index = browser.request("/admin/")
    assert status == 200 and "/admin/arq_django/jobsdashboard/" in index, index[:3000]
    status, page = browser.request("/admin/arq_django/jobsdashboard/")
    assert status == 200, page[:3000]
    assert "<svg" in page and failing in page and "card declined for 11" in page, page[:3000]
    site_packages = stack.project.venv.run_python(
        "import arq_django, os; print(os.path.dirname(arq_django.__file__))"
    )
    assert os.path.exists(os.path.join(site_packages.strip(), "static", "arq_django", "dashboard.js"))
