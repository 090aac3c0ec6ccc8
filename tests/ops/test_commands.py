"""Every operations command against a real worker process."""

from __future__ import annotations

import builtins
import json
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from arq_django import JobHandle, enqueue
from arq_django.ops.history import get_result
from tests.conftest import ROOT, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
FAST_BEAT = {"ARQ_HEARTBEAT_INTERVAL": "0.2"}


def run(capsys, *args: str) -> str:
    capsys.readouterr()
    call_command(*args)
    return capsys.readouterr().out


def run_json(capsys, *args: str):
    return json.loads(run(capsys, *args, "--json"))


def test_enqueue_status_and_results(start_worker, capsys, settings):
    settings.ARQ_DJANGO = {**settings.ARQ_DJANGO, "QUEUES": ["arq:queue", "mail"]}
    worker = start_worker(env=FAST_BEAT)
    job_id = run(capsys, "arq_enqueue", "add", "--args", "[2, 3]").strip()
    assert JobHandle(job_id).result(timeout=20) == 5
    echoed = run_json(capsys, "arq_enqueue", "echo", "--kwargs", '{"to": "x"}', "--job-id", "e-1")
    assert echoed == {"job_id": "e-1", "function": "echo", "queue": "arq:queue"}
    deferred = run_json(capsys, "arq_enqueue", "add", "--args", "[1, 1]", "--defer", "1h", "--queue", "mail")
    assert deferred["queue"] == "mail"
    failed = enqueue("boom", "bad")
    for jid in ("e-1", failed.job_id):
        wait_for(lambda j=jid: get_result(j))

    for args, message in [
        (("echo", "--job-id", "e-1"), "already exists"),
        (("add", "--args", "{bad"), "--args is not valid JSON"),
        (("add", "--kwargs", "[1]"), "--kwargs must be a JSON dict"),
        (("add", "--defer", "later"), "--defer: not a duration"),
        (("nope",), "job 'nope' is not registered"),
    ]:
        with pytest.raises(CommandError, match=message):
            call_command("arq_enqueue", *args)

    def settled():
        s = run_json(capsys, "arq_status")
        w = s["workers"][0] if s["workers"] else {}
        figures = (w.get("jobs_complete"), w.get("jobs_failed"), w.get("jobs_running"))
        return s if figures == (2, 1, 0) else None

    status = wait_for(settled)
    [w] = status["workers"]
    assert w["pid"] == worker.process.pid and w["queue"] == "arq:queue" and w["last_job_at"]
    queues = {q["queue"]: q for q in status["queues"]}
    assert queues["mail"]["deferred"] == 1 and queues["mail"]["workers"] == 0
    assert queues["arq:queue"]["workers"] == 1 and queues["arq:queue"]["last_hour"]["complete"] == 2
    text = run(capsys, "arq_status")
    assert f":{worker.process.pid}" in text and "QUEUED" in text and "mail" in text
    assert "DONE/1h" in text and "no live workers" not in text

    results = run_json(capsys, "arq_results", "--status", "failed")
    assert [r["job_id"] for r in results] == [failed.job_id]
    assert results[0]["error"] == "builtins.ValueError: bad"
    assert [r["function"] for r in run_json(capsys, "arq_results", "--function", "echo")] == ["echo"]
    assert len(run_json(capsys, "arq_results", "--limit", "1", "--since", "1h")) == 1
    assert job_id in run(capsys, "arq_results")
    worker.stop()
    assert "no live workers" in run(capsys, "arq_status")


def test_abort_retry_and_purge(start_worker, capsys, redis_client, monkeypatch):
    start_worker(env={**FAST_BEAT, "ARQ_JOB_COMPLETION_WAIT": "0.2"})  # its last job is cut short
    slow = enqueue("count", "slow", seconds=30)
    wait_for(lambda: redis_client.exists(f"arq:in-progress:{slow.job_id}"))
    assert "abort requested, aborted" in run(capsys, "arq_abort", slow.job_id, "--wait", "20")
    with pytest.raises(CommandError, match="1 of 1 jobs could not be aborted"):
        call_command("arq_abort", "no-such-job")

    failed = enqueue("boom", "x")
    wait_for(failed.result_info)
    [retried] = run_json(capsys, "arq_retry", "--failed", "--function", "boom", "--since", "1h")
    assert retried["job_id"] == failed.job_id and retried["new_job_id"]
    new = wait_for(lambda: get_result(retried["new_job_id"]))
    assert (new.function, new.args, new.status) == ("boom", ("x",), "failed")
    out = run(capsys, "arq_retry", slow.job_id)
    assert out.startswith(f"{slow.job_id} -> ")
    with pytest.raises(CommandError, match="give job ids or --failed"):
        call_command("arq_retry")
    with pytest.raises(CommandError, match="only go with --failed"):
        call_command("arq_retry", "x", "--function", "boom")
    with pytest.raises(CommandError, match="1 of 1 jobs were not retried"):
        call_command("arq_retry", "no-such-job")

    # Purge: waiting jobs of one queue go, the running one and other queues stay.
    running = JobHandle(out.split(" -> ")[1].strip())  # the retried count(30 s) job
    wait_for(lambda: redis_client.exists(f"arq:in-progress:{running.job_id}"))
    for i in range(3):
        enqueue("add", i, i, _defer_by=600)
    enqueue("add", 1, 1, _queue_name="other")
    monkeypatch.setattr(builtins, "input", lambda prompt: "n")
    with pytest.raises(CommandError, match="nothing dropped"):
        call_command("arq_purge", "--queue", "arq:queue")
    assert redis_client.zcard("arq:queue") == 4
    monkeypatch.setattr(builtins, "input", lambda prompt: "y")
    assert "dropped 3 jobs" in run(capsys, "arq_purge", "--queue", "arq:queue")
    assert [m.decode() for m in redis_client.zrange("arq:queue", 0, -1)] == [running.job_id]
    assert redis_client.zcard("other") == 1
    assert "no waiting jobs" in run(capsys, "arq_purge", "--queue", "arq:queue", "--yes")
    assert "dropped 1 jobs" in run(capsys, "arq_purge", "--queue", "other", "--yes")


def test_arq_health_as_an_exec_probe(start_worker, worker_env):
    def probe() -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "manage.py", "arq_health", "--queue", "arq:queue"]
        return subprocess.run(argv, env=worker_env, cwd=ROOT, capture_output=True, text=True, timeout=60)

    worker = start_worker()
    healthy = probe()
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    assert "status: ok" in healthy.stdout
    worker.stop()
    sick = probe()
    assert sick.returncode == 1 and "unhealthy: workers" in sick.stderr
