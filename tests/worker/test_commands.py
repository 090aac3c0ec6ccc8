"""The worker commands in a new user's project (issue 21, points 1, 3 and 8): ``--watch`` runs edited
code, log lines show without a ``LOGGING`` entry, and an absent Redis is waited for or reported in one
line."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from arq_django import JobHandle, embedded, enqueue
from tests.conftest import WorkerProcess, wait_for
from tests.user_project import make_project, run, wait_ready

pytestmark = pytest.mark.integration
STARTED = "arq_django worker"


def _worker(project, redis_url: str, log: Path, *args: str) -> WorkerProcess:
    return WorkerProcess(project.manage("arq_worker", *args), project.env(redis_url), log)


@pytest.fixture
def workers():
    started: list[WorkerProcess] = []
    yield started
    for worker in started:
        worker.stop()


def _result(name: str, *args: object) -> object:
    handle = enqueue(name, *args)
    assert handle is not None
    return handle.result(timeout=30)


# -- 1. --watch -------------------------------------------------------------------------------------


def test_watch_runs_the_edited_job_code(redis_url, tmp_path, workers):
    project = make_project(tmp_path / "proj", redis_url)
    worker = _worker(project, redis_url, tmp_path / "worker.log", "--watch", str(project.root))
    workers.append(worker)
    wait_ready(worker)
    assert _result("add", 1, 2) == 3
    project.jobs.write_text(project.jobs.read_text().replace("return a + b", "return a + b + 1000"))
    # the old process says it stopped, a new one that it started
    wait_for(lambda: worker.output().count(" started on queue") >= 2, 60)
    assert "files changed" in worker.output()
    assert _result("add", 1, 2) == 1003


def test_watch_without_watchfiles_names_the_extra(redis_url, monkeypatch):
    monkeypatch.setitem(sys.modules, "watchfiles", None)  # import fails as if it were not installed
    with pytest.raises(CommandError, match=r"pip install 'arq-django\[watch\]'"):
        call_command("arq_worker", "--watch", ".")


# -- 3. logs ----------------------------------------------------------------------------------------


def test_a_new_project_shows_the_worker_lines(redis_url, tmp_path, workers):
    project = make_project(tmp_path / "proj", redis_url)
    worker = _worker(project, redis_url, tmp_path / "worker.log")
    workers.append(worker)
    wait_ready(worker)
    assert _result("add", 2, 3) == 5
    wait_for(lambda: "add(2, 3)" in worker.output())
    out = worker.output()
    assert "queue arq:queue: 1 jobs (add)" in out  # arq_django's INFO lines
    assert "Starting worker for 1 functions: add" in out  # arq's


def test_log_level_quiets_the_info_lines(redis_url, tmp_path, workers):
    project = make_project(tmp_path / "proj", redis_url)
    worker = _worker(project, redis_url, tmp_path / "worker.log", "-l", "warning")
    workers.append(worker)
    assert _result("add", 4, 5) == 9  # it runs jobs...
    assert worker.process.poll() is None
    assert STARTED not in worker.output() and "add(4, 5)" not in worker.output()  # ...without INFO lines


def test_logs_configure_respects_the_projects_handlers(monkeypatch):
    import logging

    from arq_django.worker import logs

    ours, theirs = logging.getLogger("arq"), logging.getLogger("arq_django")
    mine = logging.NullHandler()
    monkeypatch.setattr(ours, "handlers", [])
    monkeypatch.setattr(theirs, "handlers", [mine])
    monkeypatch.setattr(ours, "level", logging.NOTSET)
    monkeypatch.setattr(theirs, "level", logging.NOTSET)
    monkeypatch.setattr(logging.getLogger(), "handlers", [])
    logs.configure("DEBUG")
    assert len(ours.handlers) == 1 and ours.level == logging.DEBUG  # ours: given a console handler
    assert theirs.handlers == [mine] and theirs.level == logging.DEBUG  # the project's: level only


# -- 8. Redis away ----------------------------------------------------------------------------------


@pytest.fixture
def nowhere(settings) -> str:
    """A Redis URL nothing listens on, set as ARQ_DJANGO['REDIS_URL']."""
    url = f"redis://127.0.0.1:{embedded.free_port()}/0"
    settings.ARQ_DJANGO = {**settings.ARQ_DJANGO, "REDIS_URL": url, "CONNECT_TIMEOUT": 0.5}
    return url


def test_handle_errors_are_ours(nowhere):
    from arq_django import ArqDjangoError, RedisUnavailable

    handle = JobHandle("some-job")
    for call in (handle.status, handle.info, handle.result_info, lambda: handle.result(timeout=1)):
        with pytest.raises(RedisUnavailable, match=r"could not read job some-job: Redis at redis://127") as e:
            call()
        assert isinstance(e.value, ArqDjangoError) and ".." not in str(e.value)


async def test_async_handle_errors_are_ours(nowhere):
    from arq_django import RedisUnavailable
    from arq_django.connection import aclose_pools

    handle = JobHandle("some-job")
    try:
        for call in (handle.astatus, handle.ainfo, lambda: handle.aresult(timeout=1)):
            with pytest.raises(RedisUnavailable):
                await call()
    finally:
        await aclose_pools()


def test_enqueue_error_has_one_full_stop(nowhere):
    from arq_django import EnqueueError

    with pytest.raises(EnqueueError) as e:
        enqueue("add", 1, 2)
    assert ".." not in str(e.value) and "Connection refused. Nothing was written" in str(e.value)


@pytest.mark.parametrize("command", ["arq_status", "arq_results"])
def test_ops_commands_print_one_line_and_exit_1(tmp_path, command):
    project = make_project(tmp_path / "proj", "redis://unused", migrate=False)
    url = f"redis://127.0.0.1:{embedded.free_port()}/0"
    done = run(project.manage(command), project.env(url))
    assert done.returncode == 1
    lines = (done.stdout + done.stderr).strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("CommandError: could not read"), lines
    assert "Check ARQ_DJANGO['REDIS_URL']" in lines[0]


@pytest.mark.parametrize("cli", ["manage.py", "arq"])
def test_a_worker_waits_for_redis_to_come_up(tmp_path, workers, cli):
    port = embedded.free_port()
    url = f"redis://127.0.0.1:{port}/0"
    project = make_project(tmp_path / "proj", url)
    if cli == "arq":
        worker = WorkerProcess(
            [sys.executable, "-m", "arq", "arq_django.worker.WorkerSettings"],
            project.env(url, cli=True),
            tmp_path / "worker.log",
        )
    else:
        worker = _worker(project, url, tmp_path / "worker.log")
    workers.append(worker)
    # it says so, again a few seconds later, and keeps going (arq alone gives up after ~6 s)
    wait_for(lambda: worker.output().count("waiting for Redis") >= 2 or worker.process.poll() is not None, 30)
    assert worker.process.poll() is None, worker.output()
    server = embedded.start(port=port)
    try:
        wait_ready(worker)
        assert "Redis answers after" in worker.output()
    finally:
        worker.stop()
        server.stop()


@pytest.mark.parametrize("command", ["arq_worker", "async_command"])
def test_a_retry_limit_is_available(tmp_path, command):
    project = make_project(tmp_path / "proj", "redis://unused", migrate=False)
    url = f"redis://127.0.0.1:{embedded.free_port()}/0"
    done = run(project.manage(command, "--redis-retries", "1"), project.env(url))
    assert done.returncode == 1
    last = (done.stdout + done.stderr).strip().splitlines()[-1]
    assert last.startswith("CommandError: worker not started: Redis at") and "2 attempts" in last


def test_the_arq_cli_takes_its_retry_limit_from_the_environment(tmp_path):
    project = make_project(tmp_path / "proj", "redis://unused", migrate=False)
    url = f"redis://127.0.0.1:{embedded.free_port()}/0"
    env = {**project.env(url, cli=True), "ARQ_REDIS_RETRIES": "1"}
    done = run([sys.executable, "-m", "arq", "arq_django.worker.WorkerSettings"], env)
    assert done.returncode == 1
    assert "RedisUnavailable: worker not started: Redis at" in done.stdout + done.stderr
