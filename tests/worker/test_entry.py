"""``arq arq_django.worker.WorkerSettings`` outside this repository (issue 21, point 2)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tests.conftest import WorkerProcess
from tests.user_project import make_project, run, wait_ready


def test_no_settings_module_fails_in_one_line(tmp_path: Path):
    # Run from a directory without the example project's `settings` package, as a user's project is.
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    done = run([sys.executable, "-m", "arq", "arq_django.worker.WorkerSettings"], env, cwd=tmp_path)
    assert done.returncode == 1
    lines = (done.stdout + done.stderr).strip().splitlines()
    assert lines == [
        "arq_django: DJANGO_SETTINGS_MODULE is not set: set DJANGO_SETTINGS_MODULE=yourproject.settings, "
        "or run python manage.py arq_worker"
    ]


def test_the_arq_cli_shows_our_lines_in_a_project_without_logging(redis_url, tmp_path: Path):
    project = make_project(tmp_path / "proj", redis_url)
    env = project.env(redis_url, cli=True)
    worker = WorkerProcess(
        [sys.executable, "-m", "arq", "arq_django.worker.WorkerSettings"], env, tmp_path / "w.log"
    )
    try:
        wait_ready(worker)
        assert "queue arq:queue: 1 jobs (add)" in worker.output()
    finally:
        worker.stop()
