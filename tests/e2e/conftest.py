"""The e2e suite's fixtures: the wheel built as a user builds it, a fresh virtualenv, and one project per
cell of the matrix (``E2E_CELLS``), with its worker and web servers.

Environment: ``E2E_PYTHON`` (the user's interpreter), ``E2E_DJANGO`` (a requirement such as
``django>=5.2,<6``), ``E2E_CELLS`` (``sqlite-debug sqlite-nodebug postgres-debug ...``),
``E2E_PG_URL`` (the PostgreSQL server), ``REDIS_URL`` (the server; the suite owns database
``ARQ_DJANGO_E2E_REDIS_DB``, default 14, and empties only that one).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.e2e import readme
from tests.e2e.project import (
    REPO,
    Browser,
    Cell,
    Process,
    UserProject,
    UserVenv,
    free_port,
    iter_cells,
    wait_for,
)

WORK = REPO / ".run" / "e2e"
REDIS_DB = int(os.environ.get("ARQ_DJANGO_E2E_REDIS_DB", "14"))
CELLS = list(iter_cells(os.environ.get("E2E_CELLS", "sqlite-debug")))
PASSWORD = "e2e-admin-password"


def _redis_url() -> str:
    parts = urllib.parse.urlsplit(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, f"/{REDIS_DB}", parts.query, ""))


@pytest.fixture(scope="session")
def wheel() -> Path:
    """``make dist`` as the README's install block says, in this checkout: the wheel it built."""
    (install,) = [block for block in readme.blocks() if block.kind == "install"]
    commands = install.commands()
    assert commands[0] == ["make", "dist"], install.body
    shutil.rmtree(REPO / "dist", ignore_errors=True)
    subprocess.run(["make", "dist", f"VENV={sys.prefix}"], cwd=REPO, check=True)  # this venv builds
    built = REPO / _readme_requirement().partition("[")[0]
    assert built.exists(), (
        f"the README installs {_readme_requirement()}, make dist built {sorted((REPO / 'dist').iterdir())}"
    )
    return built


def _readme_requirement() -> str:
    """What the README's install block passes to ``pip install``: the wheel, with its extras."""
    (install,) = [block for block in readme.blocks() if block.kind == "install"]
    (pip_line,) = [argv for argv in install.commands() if argv[:2] == ["pip", "install"]]
    return pip_line[2]


@pytest.fixture(scope="session")
def user_venv(wheel: Path) -> UserVenv:
    """A fresh virtualenv: Django (``E2E_DJANGO``), the servers, then the wheel as the README installs it."""
    python = os.environ.get("E2E_PYTHON") or "python3"
    django = os.environ.get("E2E_DJANGO") or "django"
    WORK.mkdir(parents=True, exist_ok=True)
    venv = UserVenv.create(WORK / "venv", python, [django, "gunicorn", "uvicorn", "psycopg[binary]"])
    _, bracket, extras = _readme_requirement().partition("[")  # "[worker]", as the README installs it
    pip = [venv.bin("pip"), "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, f"{wheel}{bracket}{extras}"], check=True)
    return venv


def _postgres_database(cell: Cell) -> str:
    base = os.environ.get("E2E_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    import psycopg

    name = re.sub(r"\W", "_", f"arq_e2e_{cell.id}")
    with psycopg.connect(base, autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        db.execute(f'CREATE DATABASE "{name}"')
    parts = urllib.parse.urlsplit(base)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, f"/{name}", "", ""))


class Stack:
    """A cell's running project: a worker (arq's CLI or manage.py), gunicorn and uvicorn."""

    def __init__(self, project: UserProject, redis_client: redis.Redis) -> None:
        self.project = project
        self.redis = redis_client
        self.serve = next(block for block in readme.blocks() if block.kind == "serve")
        self.worker: Process | None = None
        port = free_port()
        self.wsgi = self._server("gunicorn", port, ["-b", f"127.0.0.1:{port}", "--access-logfile", "-"])
        port = free_port()
        self.asgi = self._server("uvicorn", port, ["--host", "127.0.0.1", "--port", str(port)])

    def _server(self, program: str, port: int, bind: list[str]) -> Browser:
        env, command = readme.serve_command(self.serve, program)
        process = self.project.start(env, [*command, *bind], program)
        browser = Browser(f"http://127.0.0.1:{port}")
        wait_for(lambda: not process.alive() or browser.ping("/arq/health/live") == 200, 60, program)
        assert process.alive(), process
        return browser

    def heartbeats(self) -> list[str]:
        return [key.decode() for key in self.redis.scan_iter("arq_django:worker:*")]

    def start_worker(self, program: str = "arq arq_django.worker.WorkerSettings") -> Process:
        """Start the README's worker line for ``program``; returned once its heartbeat is in Redis."""
        self.stop_worker()
        env, command = readme.serve_command(self.serve, program)
        worker = self.project.start(env, command, f"worker-{len(self.project.processes)}")
        wait_for(
            lambda: not worker.alive() or any(f":{worker.pid}:" in key for key in self.heartbeats()),
            60,
            f"{program} writing its heartbeat",
        )
        assert worker.alive(), worker
        self.worker = worker
        return worker

    def stop_worker(self) -> None:
        if self.worker is not None:
            assert self.worker.stop() == 0, self.worker
            self.worker = None

    def ensure_worker(self) -> Process:
        if self.worker is None or not self.worker.alive():
            return self.start_worker()
        return self.worker


@pytest.fixture(scope="module", params=CELLS, ids=lambda cell: cell.id)
def stack(request: pytest.FixtureRequest, user_venv: UserVenv) -> Iterator[Stack]:
    cell: Cell = request.param
    started = time.monotonic()
    client = redis.Redis.from_url(_redis_url())
    client.flushdb()
    workdir = WORK / cell.id
    shutil.rmtree(workdir, ignore_errors=True)
    database_url = _postgres_database(cell) if cell.database == "postgres" else None
    project = UserProject(workdir, user_venv, cell, _redis_url(), database_url)
    project.create()
    project.manage(
        "createsuperuser", "--noinput", "--username", "admin", "--email", "admin@example.com",
        env={"DJANGO_SUPERUSER_PASSWORD": PASSWORD},
    )  # fmt: skip
    try:
        yield Stack(project, client)
    finally:
        project.stop_all()
        client.flushdb()
        client.close()
        django = user_venv.run_python("import django; print(django.get_version())").strip()
        python = user_venv.run_python("import platform; print(platform.python_version())").strip()
        with (WORK.parent / "e2e-cells.txt").open("a") as log:  # `make e2e` prints it at the end
            log.write(
                f"e2e cell {cell.id}, Python {python}, Django {django}: {time.monotonic() - started:.0f} s\n"
            )
