"""The real stack for the dashboard's browser tests: a ``runserver`` process on a free port, and
Debian's chromium driven headless by Playwright (never a browser Playwright downloads)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from arq_django.embedded import free_port
from tests.conftest import ROOT, wait_for

CHROMIUM = os.environ.get("ARQ_DJANGO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    *["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"],
    *["--disable-background-networking", "--disable-component-update", "--disable-sync"],
]
SCREENSHOTS = ROOT / ".run" / "screenshots"


def require_chromium() -> None:
    """Skip, saying how to get it, where Debian's chromium or Playwright's Python package is missing."""
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.skip(
            f"browser tests need Debian's chromium at {CHROMIUM}: apt-get install -y chromium "
            "chromium-driver (.ci/run does), or set ARQ_DJANGO_CHROMIUM"
        )
    pytest.importorskip("playwright.sync_api", reason="browser tests need `pip install playwright` ([test])")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return bool(r.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@contextmanager
def web_server(env: dict[str, str], log: Path) -> Iterator[str]:
    """``manage.py runserver --insecure`` (static files with DEBUG off) against the test databases."""
    port = free_port()
    argv = [sys.executable, "manage.py", "runserver", "--noreload", "--insecure", f"127.0.0.1:{port}"]
    with log.open("wb") as out:
        process = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: process.poll() is not None or _answers(base + "/admin/login/"), timeout=30)
        assert process.poll() is None, log.read_text()
        yield base
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def log_in(browser: Any, base: str, username: str, password: str, next_url: str) -> Any:
    """A new page logged in through the admin's login form, then sent to ``next_url``."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{base}/admin/login/?next={next_url}")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_load_state()
    return page


def seed_history(now: datetime) -> int:
    """Finished rows over the past day (none in the current minute), so that ``make screenshot``
    shows the charts as a busy system draws them; returns how many fall within the last hour."""
    import math

    from arq_django.models import JobResult

    rows, in_hour = [], 0
    functions = (("send_welcome_email", 0.12), ("render_invoice_pdf", 1.8), ("sync_crm_contact", 0.45))
    for minute in range(1, 24 * 60):
        if 50 < minute < 66:  # the hour's edge: the test's expected count survives a minute rolling over
            continue
        finished = now - timedelta(minutes=minute)
        busy = 7 + 4 * math.sin(minute / 229 + 1) + 2 * math.sin(minute / 7)  # a day's swell, minute noise
        for i in range(max(int(busy), 1)):
            function, typical = functions[i % 3]
            status = "failed" if (minute * 7 + i) % 41 == 0 else "complete"
            tries = 2 if (minute + i) % 17 == 0 else 1
            run = timedelta(seconds=typical * (0.6 + ((minute * 13 + i * 7) % 10) / 10))
            rows.append(
                JobResult(
                    job_id=f"seed-{minute}-{i}",
                    function=function,
                    queue_name="arq:queue",
                    status=status,
                    tries=tries,
                    enqueued_at=finished - run - timedelta(seconds=1),
                    started_at=finished - run,
                    finished_at=finished,
                    error="TimeoutError: the CRM answered 504" if status == "failed" else "",
                )
            )
            in_hour += minute < 60
    JobResult.objects.bulk_create(rows, batch_size=2000)
    return in_hour


def this_minute() -> datetime:
    return datetime.now(UTC).replace(second=0, microsecond=0)
