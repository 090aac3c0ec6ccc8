"""Shared fixtures: a dedicated Redis database (real server or embedded), fakeredis for unit tests,
and real worker processes."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import fakeredis
import pytest
import redis

from arq_django import connection, embedded
from arq_django.conf import get_config

ROOT = Path(__file__).resolve().parent.parent
TEST_DB = int(os.environ.get("ARQ_DJANGO_TEST_REDIS_DB", "13"))


def with_db(url: str, db: int) -> str:
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return urlunsplit((parts.scheme, parts.netloc, parts.path, f"db={db}", ""))
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, ""))


def wait_for(predicate: Callable[[], object], timeout: float = 20.0, interval: float = 0.02) -> object:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s: {predicate}")
        time.sleep(interval)


@pytest.fixture(scope="session")
def redis_server_url() -> Iterator[str]:
    """The tests' own Redis database: REDIS_URL's server if set, else an embedded redis-server."""
    url = os.environ.get("REDIS_URL")
    if url:
        yield with_db(url, TEST_DB)
        return
    server = embedded.start(port=embedded.free_port())
    try:
        yield with_db(server.url, TEST_DB)
    finally:
        server.stop()


@pytest.fixture
def redis_url(redis_server_url: str, settings) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """Point ARQ_DJANGO at the test database and empty it (that database only) around the test."""
    client = redis.Redis.from_url(redis_server_url)
    client.flushdb()
    settings.ARQ_DJANGO = {**settings.ARQ_DJANGO, "REDIS_URL": redis_server_url}
    yield redis_server_url
    client.flushdb()
    client.close()
    connection.close_sync_clients()


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def fake_redis(settings) -> Iterator[fakeredis.FakeRedis]:  # type: ignore[no-untyped-def]
    """Unit tests: the sync client is a fakeredis instance."""
    settings.ARQ_DJANGO = {**settings.ARQ_DJANGO, "REDIS_URL": "redis://fake.invalid:6379/0"}
    config = get_config()
    server = fakeredis.FakeRedis()
    key = (config.redis, config.connect_timeout, config.socket_timeout)
    connection._sync_clients[key] = server
    yield server
    connection._sync_clients.pop(key, None)


class WorkerProcess:
    """A real worker process (``arq`` CLI or ``manage.py arq_worker``) against the test Redis."""

    READY = "arq_django worker"

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.args = args
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(args, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def ready(self) -> bool:
        return self.READY in self.output()

    def signal(self, sig: int) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)

    def wait(self, timeout: float) -> int:
        return self.process.wait(timeout)

    def stop(self, timeout: float = 30.0) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def worker_env(redis_url: str) -> dict[str, str]:
    from django.db import connection as db

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "settings.test", "REDIS_URL": redis_url}
    name = db.settings_dict["NAME"]
    if db.vendor == "sqlite":
        env["DATABASE_URL"] = f"sqlite:///{name}"
    else:
        s = db.settings_dict
        env["DATABASE_URL"] = f"postgres://{s['USER']}:{s['PASSWORD']}@{s['HOST']}:{s['PORT']}/{name}"
    return env


@pytest.fixture
def start_worker(worker_env: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """Start worker processes; each is returned once it has logged its start-up."""
    started: list[WorkerProcess] = []

    def start(*args: str, cli: str = "arq", env: dict[str, str] | None = None) -> WorkerProcess:
        if cli == "arq":
            argv = [sys.executable, "-m", "arq", "arq_django.worker.WorkerSettings", *args]
        else:
            argv = [sys.executable, "manage.py", "arq_worker", *args]
        worker = WorkerProcess(argv, {**worker_env, **(env or {})}, tmp_path / f"worker-{len(started)}.log")
        started.append(worker)
        wait_for(lambda: worker.process.poll() is not None or worker.ready(), timeout=30)
        assert worker.process.poll() is None, worker.output()
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def thread_worker(redis_url: str) -> Iterator[Callable[..., object]]:
    """Start in-process workers (``tests.inproc.ThreadWorker``); each is stopped after the test."""
    from tests.inproc import ThreadWorker

    started: list[ThreadWorker] = []

    def start(queue: str | None = None, **overrides: object) -> ThreadWorker:
        worker = ThreadWorker(queue, **overrides)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


async def wait_for_async(
    predicate: Callable[[], Awaitable[object]], timeout: float = 20.0, interval: float = 0.02
) -> object:
    """:func:`wait_for` for async tests: awaits ``predicate`` and sleeps without blocking the loop, so
    in-process workers keep running while the test waits."""
    deadline = time.monotonic() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s: {predicate}")
        await asyncio.sleep(interval)


@pytest.fixture(autouse=True)
def _enqueued_rows_written() -> Iterator[None]:
    """Mirror rows a test's enqueues buffered are written before its database is emptied (this
    fixture's teardown runs before pytest-django's), never into the next test's."""
    yield
    buffer = sys.modules.get("arq_django.mirror.buffer")
    if buffer is not None:
        buffer.flush(10)
