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


def test_importing_the_worker_package_does_not_boot_django(tmp_path: Path):
    """Only ``WorkerSettings`` boots Django (``arq_django.worker.__getattr__``): a module of the worker
    package imports without settings, as a tool or a type checker would import it."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    code = (
        "import sys, django.apps, arq_django.worker.loop, arq_django.worker.execute\n"
        "assert not django.apps.apps.ready\n"
        "assert 'arq_django.worker.entry' not in sys.modules\n"
        "import arq_django.worker as w\n"
        "try:\n"
        "    w.WorkerSettings\n"
        "except SystemExit as e:\n"
        "    print(e)\n"
    )
    done = run([sys.executable, "-c", code], env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "DJANGO_SETTINGS_MODULE is not set" in done.stdout  # the attribute does boot (and says why not)
