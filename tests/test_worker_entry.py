"""``arq arq_django.worker.WorkerSettings`` outside this repository (issue 21, point 2)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_no_settings_module_fails_in_one_line(tmp_path: Path):
    # Run from a directory without the example project's `settings` package, as a user's project is.
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    done = subprocess.run(
        [sys.executable, "-m", "arq", "arq_django.worker.WorkerSettings"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    lines = (done.stdout + done.stderr).strip().splitlines()
    assert lines == [
        "arq_django: DJANGO_SETTINGS_MODULE is not set: set DJANGO_SETTINGS_MODULE=yourproject.settings, "
        "or run python manage.py arq_worker"
    ]


def test_the_arq_cli_shows_our_lines_in_a_project_without_logging(redis_url, tmp_path: Path):
    from tests.conftest import WorkerProcess, wait_for
    from tests.user_project import make_project

    project = make_project(tmp_path / "proj", redis_url)
    env = {
        **project.env(redis_url),
        "DJANGO_SETTINGS_MODULE": "userproj.settings",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(project.root), os.environ.get("PYTHONPATH")])),
    }
    worker = WorkerProcess(
        [sys.executable, "-m", "arq", "arq_django.worker.WorkerSettings"], env, tmp_path / "w.log"
    )
    try:
        wait_for(lambda: worker.ready() or worker.process.poll() is not None, 60)
        assert worker.process.poll() is None, worker.output()
        assert "queue arq:queue: 1 jobs (add)" in worker.output()
    finally:
        worker.stop()
