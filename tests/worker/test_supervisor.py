"""``manage.py arq_worker --processes N``: the supervisor starts N worker processes, restarts one that
dies (with backoff), passes SIGTERM on for a graceful stop, and exits once all have stopped."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from arq_django import enqueue, keys
from arq_django.worker import supervisor
from arq_django.worker.serve import ServeOptions
from arq_django.worker.supervisor import Backoff, Supervisor, describe_exit, parse_processes
from tests.conftest import WorkerProcess, wait_for
from tests.worker import supervisor_targets

# -- parsing and pure parts -------------------------------------------------------------------------


def test_auto_is_one_process_per_usable_cpu():
    assert parse_processes("auto") == len(os.sched_getaffinity(0))
    assert parse_processes(" AUTO ") == supervisor.cpu_count()


def test_cpu_count_falls_back_where_there_is_no_affinity_mask(monkeypatch):
    monkeypatch.delattr(os, "sched_getaffinity")
    monkeypatch.setattr(os, "cpu_count", lambda: 6)
    assert supervisor.cpu_count() == 6 and parse_processes("auto") == 6


@pytest.mark.parametrize(("value", "expected"), [("1", 1), ("2", 2), (" 16 ", 16), (3, 3)])
def test_whole_numbers_are_taken(value, expected):
    assert parse_processes(value) == expected


@pytest.mark.parametrize("value", ["0", "-1", "abc", "1.5", "", "+2"])
def test_anything_else_is_refused_with_the_fix(value):
    with pytest.raises(ValueError, match=r"whole number from 1 up, or 'auto' for one per CPU \(\d+ here\)"):
        parse_processes(value)


def test_the_backoff_doubles_up_to_its_cap():
    backoff = Backoff(first=1.0, cap=10.0)
    assert [backoff.delay(n) for n in range(1, 7)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def test_exits_are_described_by_status_or_signal():
    assert describe_exit(3) == "exited with status 3"
    assert describe_exit(-signal.SIGKILL) == "was killed by SIGKILL"
    assert describe_exit(-200) == "was killed by signal 200"


@pytest.mark.parametrize("value", ["0", "abc"])
def test_the_command_refuses_a_bad_count(value):
    with pytest.raises(CommandError, match=rf"--processes '{value}' is not a number of worker processes"):
        call_command("arq_worker", "--processes", value)


def test_the_command_refuses_processes_with_watch():
    with pytest.raises(CommandError, match="--watch runs one worker process"):
        call_command("arq_worker", "--processes", "2", "--watch", ".")


# -- the supervisor with stand-in workers -----------------------------------------------------------


@pytest.fixture
def starts(tmp_path, monkeypatch) -> Path:
    log = tmp_path / "starts.log"
    log.touch()
    monkeypatch.setenv("SUPERVISOR_TEST_LOG", str(log))  # inherited by the spawned stand-ins
    return log


def _count(log: Path) -> int:
    return len(log.read_text().splitlines())


def _sigterm_once(log: Path, starts: int) -> threading.Thread:
    """SIGTERM this process (the supervisor) once ``starts`` stand-ins have started."""

    def run() -> None:
        wait_for(lambda: _count(log) >= starts, timeout=60)
        os.kill(os.getpid(), signal.SIGTERM)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_a_worker_that_keeps_dying_is_restarted_after_growing_pauses(starts, caplog):
    caplog.set_level(logging.INFO, "arq_django.worker")
    stopper = _sigterm_once(starts, 4)
    run = Supervisor(
        ServeOptions(),
        1,
        stop_timeout=5,
        backoff=Backoff(first=0.1, cap=0.4),
        target=supervisor_targets.exits_with_3,
    )
    status = run.run()
    stopper.join(5)
    assert status == 1  # its last exit was not a clean stop
    restarts = [r.getMessage() for r in caplog.records if "restarting it in" in r.getMessage()]
    assert len(restarts) >= 3
    assert all("worker process 1/1 (pid " in m and "exited with status 3" in m for m in restarts)
    assert [m.rsplit(" in ", 1)[1] for m in restarts[:3]] == ["0.1 s", "0.2 s", "0.4 s"]


def test_burst_workers_that_finish_are_not_restarted(starts):
    options = ServeOptions(overrides={"burst": True})
    status = Supervisor(options, 2, stop_timeout=5, target=supervisor_targets.finishes).run()
    assert status == 0
    assert _count(starts) == 2


def test_a_worker_that_does_not_stop_is_killed_after_the_stop_timeout(starts, caplog):
    stopper = _sigterm_once(starts, 2)
    run = Supervisor(ServeOptions(), 2, stop_timeout=0.5, target=supervisor_targets.ignores_sigterm)
    assert run.run() == 1
    stopper.join(5)
    assert _count(starts) == 2  # no restart after the stop signal
    killed = [r.getMessage() for r in caplog.records if "killing it" in r.getMessage()]
    assert len(killed) == 2 and "after the stop signal" in killed[0]


# -- real workers ---------------------------------------------------------------------------------


def _heartbeat_pids(redis_client) -> set[int]:
    return {int(key.decode().split(":")[-2]) for key in redis_client.scan_iter(f"{keys.WORKER_PREFIX}*")}


def _supervisor(worker_env, tmp_path, name: str, **env: str) -> WorkerProcess:
    argv = [sys.executable, "manage.py", "arq_worker", "--processes", "2"]
    return WorkerProcess(argv, {**worker_env, **env}, tmp_path / f"{name}.log")


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_with_sigkill_is_restarted_and_no_job_is_lost(worker_env, tmp_path, redis_client):
    # A 2 s job timeout: the killed worker's in-progress keys expire 12 s later and its jobs run again.
    run = _supervisor(worker_env, tmp_path, "sigkill", ARQ_MAX_JOBS="2", ARQ_JOB_TIMEOUT="2")
    try:
        wait_for(lambda: len(_heartbeat_pids(redis_client)) == 2, timeout=60)
        first = _heartbeat_pids(redis_client)
        handles = [enqueue("count", "sup:kill", seconds=0.2) for _ in range(30)]
        job_ids = {h.job_id for h in handles if h is not None}
        assert len(job_ids) == 30
        wait_for(lambda: redis_client.scard("sup:kill:ids") >= 4, timeout=60)
        victim = min(first)
        os.kill(victim, signal.SIGKILL)  # mid-run: it holds up to 2 jobs
        wait_for(lambda: len(_heartbeat_pids(redis_client) - first) == 1, timeout=60)
        wait_for(lambda: redis_client.scard("sup:kill:ids") == 30, timeout=90)
        assert {m.decode() for m in redis_client.smembers("sup:kill:ids")} == job_ids
        assert f"(pid {victim}) was killed by SIGKILL" in run.output()
        assert "restarting it in 1.0 s" in run.output()
        assert run.process.poll() is None  # the supervisor itself goes on
    finally:
        run.stop()
    assert run.process.returncode == 0, run.output()


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_sigterm_stops_every_worker_cleanly_and_leaves_the_rest_queued(worker_env, tmp_path, redis_client):
    run = _supervisor(worker_env, tmp_path, "sigterm", ARQ_MAX_JOBS="2")
    try:
        wait_for(lambda: len(_heartbeat_pids(redis_client)) == 2, timeout=60)
        handles = [enqueue("count", "sup:term", seconds=0.3) for _ in range(40)]
        job_ids = {h.job_id for h in handles if h is not None}
        wait_for(lambda: redis_client.scard("sup:term:ids") >= 2, timeout=60)
        run.signal(signal.SIGTERM)
        status = run.wait(timeout=60)
    finally:
        run.stop()
    assert status == 0, run.output()
    assert run.output().count("exited with status 0 after the stop signal") == 2, run.output()
    assert not _heartbeat_pids(redis_client)  # both deleted their heartbeats on the way out
    ran = {m.decode() for m in redis_client.smembers("sup:term:ids")}
    queued = {m.decode() for m in redis_client.zrange("arq:queue", 0, -1)}
    in_progress = [k for k in redis_client.scan_iter("arq:in-progress:*")]
    assert not in_progress and ran | queued == job_ids and not ran & queued
    assert ran and queued, (len(ran), len(queued))  # stopped mid-queue: the check above means something
    # the next worker runs the rest, each job once
    rest = WorkerProcess(
        [sys.executable, "manage.py", "arq_worker", "--burst"], worker_env, tmp_path / "rest.log"
    )
    try:
        assert rest.wait(timeout=60) == 0, rest.output()
    finally:
        rest.stop()
    assert {m.decode() for m in redis_client.smembers("sup:term:ids")} == job_ids
    assert int(redis_client.get("sup:term")) == 40
