"""``arq/health/``, ``arq/health/live`` and ``manage.py arq_health``: 200/503 within the time budget."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.core.management import CommandError, call_command
from django.db import connections

from arq_django import enqueue
from arq_django.conf import get_config
from arq_django.exceptions import CheckFailed
from arq_django.health import build_checks, health_report
from arq_django.health.runner import run_checks

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

SECRET_USER, SECRET_PASSWORD = "opsuser", "s3cr3t-pa55word"


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def hung_server() -> Iterator[int]:
    """Accepts connections and never answers a byte."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(5)
    for conn in accepted:
        conn.close()
    server.close()


def use(settings, **options) -> None:
    settings.ARQ_DJANGO = {**settings.ARQ_DJANGO, **options}


def get_health(client):
    response = client.get("/arq/health/")
    return response.status_code, json.loads(response.content), response


def assert_no_secrets(body: bytes | str) -> None:
    text = body.decode() if isinstance(body, bytes) else body
    for secret in (SECRET_USER, SECRET_PASSWORD, "127.0.0.1", "localhost", "redis://", socket.gethostname()):
        assert secret not in text, f"{secret!r} leaked into {text}"


def test_200_with_a_live_worker(client, start_worker, redis_url):
    start_worker()
    status, body, response = get_health(client)
    assert status == 200, body
    assert body["status"] == "ok"
    checks = body["checks"]
    assert set(checks) == {"redis", "database", "workers", "backlog"}
    assert all(c["ok"] and c["ms"] >= 0 for c in checks.values())
    assert checks["workers"]["queues"] == {"arq:queue": 1}
    assert checks["backlog"]["queues"]["arq:queue"]["queued"] == 0
    assert "no-cache" in response["Cache-Control"] and response["Content-Type"] == "application/json"
    assert_no_secrets(response.content)
    assert client.head("/arq/health/").status_code == 200


def test_503_without_a_worker(client, redis_url):
    status, body, _ = get_health(client)
    assert status == 503 and body["status"] == "fail"
    assert body["checks"]["redis"]["ok"] and body["checks"]["database"]["ok"]
    workers = body["checks"]["workers"]
    assert not workers["ok"] and workers["queues"] == {"arq:queue": 0}
    assert "'arq:queue' has 0 live workers, needs 1" in workers["error"]


def test_workers_check_can_be_left_out(client, redis_url, settings):
    use(settings, HEALTH_CHECKS=["redis", "database"])
    status, body, _ = get_health(client)
    assert status == 200 and set(body["checks"]) == {"redis", "database"}


def test_503_when_redis_is_down_and_nothing_leaks(client, settings, closed_port):
    use(settings, REDIS_URL=f"redis://{SECRET_USER}:{SECRET_PASSWORD}@127.0.0.1:{closed_port}/0")
    started = time.monotonic()
    status, body, response = get_health(client)
    assert time.monotonic() - started < 2 * get_config().health_timeout + 0.5
    assert status == 503
    for name in ("redis", "workers", "backlog"):
        assert not body["checks"][name]["ok"] and "ConnectionError" in body["checks"][name]["error"]
    assert body["checks"]["database"]["ok"]
    assert_no_secrets(response.content)


def test_503_when_the_database_is_down(client, redis_url, monkeypatch, tmp_path):
    # New connections (the check opens its own, in its own thread) go to a path that cannot be opened.
    monkeypatch.setitem(connections.settings["default"], "NAME", str(tmp_path / "missing" / "db.sqlite3"))
    status, body, response = get_health(client)
    assert status == 503
    database = body["checks"]["database"]
    assert not database["ok"] and database["error"] == "database unavailable (OperationalError)"
    assert body["checks"]["redis"]["ok"]
    assert str(tmp_path) not in response.content.decode()


def test_hung_redis_fails_within_the_budget(client, settings, hung_server):
    use(settings, REDIS_URL=f"redis://127.0.0.1:{hung_server}/0", HEALTH_TIMEOUT=0.5)
    for _ in range(3):  # repeated probes do not pile up waiting threads or slow down
        started = time.monotonic()
        status, body, response = get_health(client)
        elapsed = time.monotonic() - started
        assert elapsed < 2 * 0.5, elapsed
        assert status == 503
        assert not body["checks"]["redis"]["ok"]
        assert body["checks"]["database"]["ok"]
        assert_no_secrets(response.content)


def test_backlog_over_threshold(client, redis_url, settings):
    use(settings, HEALTH_MIN_WORKERS=0, HEALTH_MAX_BACKLOG={"arq:queue": 2})
    for i in range(2):
        enqueue("add", i, i)
    assert get_health(client)[0] == 200
    enqueue("add", 2, 2)
    status, body, _ = get_health(client)
    assert status == 503
    backlog = body["checks"]["backlog"]
    assert backlog["queues"]["arq:queue"]["queued"] == 3
    assert backlog["error"] == "'arq:queue' has 3 jobs waiting, more than 2"
    assert body["checks"]["workers"]["ok"]


def test_backlog_age_threshold(client, redis_url, settings, redis_client):
    use(settings, HEALTH_MIN_WORKERS=0, HEALTH_MAX_BACKLOG_AGE=30)
    redis_client.zadd("arq:queue", {"old-job": int(time.time() * 1000) - 60_000})
    status, body, _ = get_health(client)
    assert status == 503
    assert body["checks"]["backlog"]["queues"]["arq:queue"]["oldest_age"] >= 60
    assert "kept a job waiting" in body["checks"]["backlog"]["error"]


def test_other_methods_are_refused_and_live_needs_nothing(client, settings, closed_port):
    assert client.post("/arq/health/").status_code == 405
    assert client.delete("/arq/health/").status_code == 405
    use(settings, REDIS_URL=f"redis://127.0.0.1:{closed_port}/0")
    for path in ("/arq/health/live", "/arq/health/live/"):
        response = client.get(path)
        assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert client.post("/arq/health/live").status_code == 405


def test_arq_health_command_exit_codes(thread_worker, redis_url, capsys):
    with pytest.raises(CommandError) as failed:
        call_command("arq_health")
    assert failed.value.returncode == 1 and "workers" in str(failed.value)
    thread_worker()
    call_command("arq_health")
    assert "status: ok" in capsys.readouterr().out
    call_command("arq_health", "--json")
    assert json.loads(capsys.readouterr().out)["status"] == "ok"
    with pytest.raises(CommandError):
        call_command("arq_health", "--queue", "nobody-serves-this")
    assert "'nobody-serves-this' has 0 live workers" in capsys.readouterr().out


# -- the runner ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SlowCheck:
    name: str
    seconds: float

    def run(self) -> dict:
        time.sleep(self.seconds)
        return {"slept": self.seconds}


@dataclass(frozen=True)
class FailingCheck:
    name: str = "failing"

    def run(self) -> dict:
        raise CheckFailed("queue 'q' is sad", {"queues": {"q": 0}})


def test_checks_run_concurrently_under_one_budget():
    started = time.monotonic()
    report = run_checks([SlowCheck("a", 0.3), SlowCheck("b", 0.3), SlowCheck("c", 0.3)], budget=2)
    assert time.monotonic() - started < 0.85  # concurrent, not 0.9 s in a row
    assert report.ok and report.checks["a"].details == {"slept": 0.3}


def test_a_check_past_the_budget_fails_and_is_joined_not_restarted():
    check = SlowCheck("slow", 1.0)
    report = run_checks([check, FailingCheck()], budget=0.2)
    assert not report.ok
    assert report.checks["slow"].error == "no answer within 0.2 s"
    assert report.as_dict()["checks"]["failing"] == {
        "ok": False,
        "ms": report.checks["failing"].ms,
        "queues": {"q": 0},
        "error": "queue 'q' is sad",
    }
    threads = threading.active_count()
    run_checks([check], budget=0.1)
    assert threading.active_count() <= threads  # the first run is still going: joined, no new thread


def test_build_checks_follows_the_settings(settings, redis_url):
    use(settings, HEALTH_CHECKS=["workers", "backlog"], QUEUES=["a", "b"], HEALTH_MIN_WORKERS={"b": 2})
    workers, backlog = build_checks(get_config())
    assert workers.min_workers == (("b", 2),) and backlog.queues == ("arq:queue", "a", "b")
    (workers, backlog) = build_checks(get_config(), queue="a")
    assert workers.min_workers == (("a", 1),) and backlog.queues == ("a",)
    assert "url" not in repr(workers) and redis_url not in repr(workers)
    assert health_report().checks["workers"].details == {"queues": {"b": 0}}
    use(settings, HEALTH_MIN_WORKERS=3, HEALTH_MAX_BACKLOG={"*": 10, "b": 5}, HEALTH_MAX_BACKLOG_AGE=60)
    workers, backlog = build_checks(get_config())
    assert workers.min_workers == (("arq:queue", 3), ("a", 3), ("b", 3))
    assert backlog.max_backlog == (("arq:queue", 10), ("a", 10), ("b", 5))
    assert backlog.max_age == (("arq:queue", 60), ("a", 60), ("b", 60))


async def test_health_under_asgi_with_a_hung_redis(async_client, settings, hung_server):
    use(settings, REDIS_URL=f"redis://127.0.0.1:{hung_server}/0", HEALTH_TIMEOUT=0.5)
    started = time.monotonic()
    response = await async_client.get("/arq/health/")
    assert time.monotonic() - started < 1.0
    assert response.status_code == 503 and not response.json()["checks"]["redis"]["ok"]
    assert (await async_client.get("/arq/health/live")).status_code == 200
