"""A minimal project of a new user's own (not this repository's ``settings``): its own settings module
without ``LOGGING``, one app with a ``jobs.py``, SQLite in its directory. Workers run from it with
``python <project>/manage.py ...``, so the example project's packages are not importable there."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import WorkerProcess, wait_for

MANAGE = """\
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "userproj.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
"""

SETTINGS = """\
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "user-project-test-key"
DEBUG = False
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "arq_django", "shop"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "db.sqlite3"}}
USE_TZ = True
ARQ_DJANGO = {"REDIS_URL": os.environ["REDIS_URL"]}
"""

JOBS = """\
from arq_django import job


@job
async def add(ctx, a, b):
    return a + b
"""


@dataclass(frozen=True)
class UserProject:
    root: Path

    @property
    def jobs(self) -> Path:
        return self.root / "shop" / "jobs.py"

    def env(self, redis_url: str, *, cli: bool = False) -> dict[str, str]:
        """The environment for the project's commands; ``cli``: for arq's CLI, which needs the settings
        module named and the project on the path (manage.py does both itself)."""
        env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL")}
        env = {**env, "REDIS_URL": redis_url, "PYTHONDONTWRITEBYTECODE": "1"}
        if cli:
            path = os.pathsep.join(filter(None, [str(self.root), os.environ.get("PYTHONPATH")]))
            env.update({"DJANGO_SETTINGS_MODULE": "userproj.settings", "PYTHONPATH": path})
        return env

    def manage(self, *args: str) -> list[str]:
        return [sys.executable, str(self.root / "manage.py"), *args]


def make_project(root: Path, redis_url: str, *, migrate: bool = True) -> UserProject:
    """Write the project under ``root`` (and create its tables unless ``migrate`` is false)."""
    for path, text in {
        "manage.py": MANAGE,
        "userproj/__init__.py": "",
        "userproj/settings.py": SETTINGS,
        "shop/__init__.py": "",
        "shop/jobs.py": JOBS,
    }.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(textwrap.dedent(text))
    project = UserProject(root)
    if migrate:
        subprocess.run(
            project.manage("migrate", "-v", "0"), env=project.env(redis_url), check=True, timeout=120
        )
    return project


def run(argv: list[str], env: dict[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run a command to its end (within a minute), its output captured as text."""
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


def wait_ready(worker: WorkerProcess) -> None:
    """Wait until ``worker`` logged its start line; fail with its output if it exited instead."""
    wait_for(lambda: worker.ready() or worker.process.poll() is not None, 60)
    assert worker.process.poll() is None, worker.output()
