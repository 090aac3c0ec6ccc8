"""The dashboard in a real browser (Debian's chromium, headless) against the real stack: runserver,
a real worker process and a real Redis. Screenshots go to .run/screenshots/."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse

from arq_django import enqueue
from arq_django.models import JobResult
from tests.conftest import ROOT, wait_for

from .browser import SCREENSHOTS, chromium, log_in, require_chromium, seed_history, this_minute, web_server

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration, pytest.mark.browser]
Status = JobResult.Status
DASHBOARD = reverse("admin:arq_django_jobsdashboard_changelist")
JOBS = [("add", (1, 2))] * 5 + [("echo", ("hello",))] * 3 + [("sync_add", (2, 3))] * 2


def user(name: str, *perms: str) -> None:
    u = User.objects.create_user(name, password="pw-" + name, is_staff=True)
    for codename in perms:
        u.user_permissions.add(Permission.objects.get(codename=codename))


def finished(n: int) -> bool:
    ours = JobResult.objects.exclude(job_id__startswith="seed-")  # seed_history()'s rows
    return ours.filter(status__in=JobResult.FINISHED).count() >= n


def test_dashboard_in_chromium(start_worker, worker_env, redis_client, tmp_path):
    require_chromium()
    target = os.environ.get("ARQ_DJANGO_DASHBOARD_PNG")  # `make screenshot` keeps docs/dashboard.png
    seeded = seed_history(this_minute()) if target else 0
    user("operator", "view_jobresult", "change_jobresult")
    user("nobody")
    start_worker()
    for function, args in JOBS:
        enqueue(function, *args)
    failing = enqueue("fails_until", "dashboard:fixed")
    wait_for(lambda: finished(len(JOBS) + 1), timeout=30)
    failed = JobResult.objects.get(job_id=failing.job_id)
    assert failed.status == Status.FAILED
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    with web_server(worker_env, tmp_path / "web.log") as base, chromium() as browser:
        page = log_in(browser, base, "operator", "pw-operator", DASHBOARD)
        assert page.url.endswith(DASHBOARD), page.url
        # The charts: 60 minute bars and 24 hour bars, carrying the jobs this test ran.
        hour = page.locator("#arq-hour svg.arq-chart")
        assert hour.locator("g.arq-bar").count() == 60
        assert page.locator("#arq-day svg.arq-chart g.arq-bar").count() == 24
        totals = hour.locator("g.arq-bar").evaluate_all("gs => gs.map(g => +g.dataset.total)")
        assert sum(totals) == len(JOBS) + 1 + seeded
        if not seeded:
            assert hour.locator("g.arq-bar rect.arq-failed").count() == 1
        assert hour.locator("rect.arq-complete").count() >= 1
        assert page.locator("#arq-durations tr[data-function=add] svg.arq-duration").count() == 1
        assert page.locator("#arq-workers tbody tr[data-worker]").count() == 1
        # The failure, with its error and a link to its row.
        item = page.locator(f'.arq-failure[data-job-id="{failing.job_id}"]')
        assert "LookupError" in item.locator(".arq-error").inner_text()
        row_url = reverse("admin:arq_django_jobresult_change", args=[failed.pk])
        assert item.locator(f'a[href="{row_url}"]').count() == 1
        page.screenshot(path=str(SCREENSHOTS / "dashboard.png"), full_page=True)

        # Retry: the job runs again (now it succeeds) and the list says so without a reload.
        redis_client.set("dashboard:fixed", 1)
        page.evaluate("window.arqNotReloaded = true")
        item.locator("button.arq-retry").click()
        page.wait_for_selector(
            f'.arq-failure[data-job-id="{failing.job_id}"] .arq-retry-state[data-retry-status="complete"]',
            timeout=30_000,
        )
        assert page.evaluate("window.arqNotReloaded") is True
        assert "Re-enqueued job" in page.locator("#arq-flash").inner_text()
        page.wait_for_function(
            "n => [...document.querySelectorAll('#arq-hour g.arq-bar')]"
            ".reduce((s, g) => s + +g.dataset.total, 0) === n",
            arg=len(JOBS) + 2 + seeded,
        )
        page.screenshot(path=str(SCREENSHOTS / "dashboard-after-retry.png"), full_page=True)
        # Dark mode and a phone's width come from the admin's CSS variables and media queries.
        page.emulate_media(color_scheme="dark")
        page.screenshot(path=str(SCREENSHOTS / "dashboard-dark.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(SCREENSHOTS / "dashboard-narrow.png"), full_page=True)
        page.emulate_media(color_scheme="light")
        page.set_viewport_size({"width": 1280, "height": 900})

        page.goto(base + row_url)
        assert failing.job_id in page.content()
        page.screenshot(path=str(SCREENSHOTS / "job-detail.png"), full_page=True)

        # A staff user without the view permission is refused.
        refused = log_in(browser, base, "nobody", "pw-nobody", "/admin/")
        answer = refused.goto(base + DASHBOARD)
        assert answer is not None and answer.status == 403

    # (Playwright's sync API runs an event loop, so the ORM waits until the browser is closed.)
    retried = JobResult.objects.get(retry_of=failed)
    assert retried.status == Status.COMPLETE and retried.result == "dashboard:fixed"
    if target:
        shutil.copyfile(SCREENSHOTS / "dashboard.png", Path(ROOT, target))


def test_refresh_stops_while_the_tab_is_hidden(worker_env, redis_url, tmp_path):
    require_chromium()
    user("viewer", "view_jobresult")
    with web_server(worker_env, tmp_path / "web.log") as base, chromium() as browser:
        page = log_in(browser, base, "viewer", "pw-viewer", DASHBOARD)
        assert page.locator("button.arq-retry").count() == 0
        page.wait_for_function(
            "document.getElementById('arq-dashboard').dataset.refreshes >= 1", timeout=20_000
        )
        page.evaluate(
            "Object.defineProperty(document, 'hidden', {value: true, configurable: true});"
            "document.dispatchEvent(new Event('visibilitychange'))"
        )
        paused_at = int(page.evaluate("document.getElementById('arq-dashboard').dataset.refreshes"))
        page.wait_for_timeout(7_000)  # longer than one refresh interval: nothing may have been fetched
        assert int(page.evaluate("document.getElementById('arq-dashboard').dataset.refreshes")) == paused_at
        page.evaluate(
            "Object.defineProperty(document, 'hidden', {value: false, configurable: true});"
            "document.dispatchEvent(new Event('visibilitychange'))"
        )
        page.wait_for_function(
            f"document.getElementById('arq-dashboard').dataset.refreshes > {paused_at}", timeout=10_000
        )
