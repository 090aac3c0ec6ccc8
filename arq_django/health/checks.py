"""The health checks: each a small frozen dataclass with one ``run()``.

``run()`` returns the figures to show, or raises :class:`CheckFailed` with a message that names what is
wrong without naming hosts, URLs or credentials. Every network call has its own timeout (the report's
budget), so a hung server ends the check's thread soon after the report gave up on it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Protocol

import redis
from django.db import connections

from arq_django.conf import get_config
from arq_django.connection import RedisServer, build_sync_client
from arq_django.exceptions import CheckFailed
from arq_django.ingest.supervise import read_down
from arq_django.ops.queues import queue_depths
from arq_django.ops.workers import read_workers, workers_per_queue


class Check(Protocol):
    @property
    def name(self) -> str: ...

    def run(self) -> dict[str, Any]: ...


_clients: dict[tuple[RedisServer, float], redis.Redis] = {}
_clients_lock = threading.Lock()


def health_client(server: RedisServer, timeout: float) -> redis.Redis:
    """A client whose connect and read timeouts are the health budget (not the longer enqueue ones)."""
    key = (server, timeout)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = build_sync_client(
                server, get_config(), socket_connect_timeout=timeout, socket_timeout=timeout
            )
            _clients[key] = client
    return client


@dataclass(frozen=True)
class RedisCheck:
    """Redis answers ``PING``."""

    server: RedisServer
    timeout: float
    name: str = "redis"

    def run(self) -> dict[str, Any]:
        health_client(self.server, self.timeout).ping()
        return {}


@dataclass(frozen=True)
class DatabaseCheck:
    """The database answers ``SELECT 1`` on a connection of its own, closed afterwards."""

    alias: str = "default"
    name: str = "database"

    def run(self) -> dict[str, Any]:
        connection = connections[self.alias]  # this thread's own connection
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
        finally:
            connection.close()
        return {}


@dataclass(frozen=True)
class WorkersCheck:
    """Enough live workers (fresh heartbeats) serve each queue."""

    server: RedisServer
    timeout: float
    min_workers: tuple[tuple[str, int], ...]
    """``(queue, live workers required)``; every queue listed is reported."""
    name: str = "workers"

    def run(self) -> dict[str, Any]:
        counts = workers_per_queue(read_workers(health_client(self.server, self.timeout)))
        queues = {q: counts.get(q, 0) for q, _ in self.min_workers}
        details = {"queues": queues}
        short = [
            f"{q!r} has {queues[q]} live workers, needs {n}" for q, n in self.min_workers if queues[q] < n
        ]
        if short:
            raise CheckFailed("; ".join(short), details)
        return details


@dataclass(frozen=True)
class BacklogCheck:
    """No queue holds more waiting jobs, or has kept one waiting longer, than its threshold."""

    server: RedisServer
    timeout: float
    queues: tuple[str, ...]
    max_backlog: tuple[tuple[str, int], ...] = ()
    max_age: tuple[tuple[str, float], ...] = ()
    name: str = "backlog"

    def run(self) -> dict[str, Any]:
        depths = queue_depths(health_client(self.server, self.timeout), list(self.queues))
        details = {
            "queues": {d.queue: {"queued": d.queued, "oldest_age": d.as_dict()["oldest_age"]} for d in depths}
        }
        max_backlog, max_age = dict(self.max_backlog), dict(self.max_age)
        problems = []
        for d in depths:
            limit = max_backlog.get(d.queue)
            if limit is not None and d.queued > limit:
                problems.append(f"{d.queue!r} has {d.queued} jobs waiting, more than {limit}")
            age_limit = max_age.get(d.queue)
            if age_limit is not None and d.oldest_age is not None and d.oldest_age > age_limit:
                problems.append(
                    f"{d.queue!r} has kept a job waiting {d.oldest_age:.1f} s, more than {age_limit} s"
                )
        if problems:
            raise CheckFailed("; ".join(problems), details)
        return details


@dataclass(frozen=True)
class IngestCheck:
    """No worker's list ingester is down (crashed and waiting to restart); run when ``LIST_SOURCES``
    is set."""

    server: RedisServer
    timeout: float
    sources: tuple[str, ...]
    name: str = "ingest"

    def run(self) -> dict[str, Any]:
        client = health_client(self.server, self.timeout)
        down = {source: [d.as_dict() for d in read_down(client, source)] for source in self.sources}
        details = {"down": {source: reports for source, reports in down.items() if reports}}
        problems = [
            f"list {source!r}: the ingester in worker {d['worker']} is down ({d['error']}, "
            f"{d['crashes']} crashes)"
            for source, reports in down.items()
            for d in reports
        ]
        if problems:
            raise CheckFailed("; ".join(problems), details)
        return details
