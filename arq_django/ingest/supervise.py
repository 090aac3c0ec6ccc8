"""Keep a worker's list ingestion running: restart a crashed ingester with backoff, and say it is down.

An ingester that raises (a bug, or a failure nothing below caught) would otherwise stop ingesting for
the life of the worker after one log line. The supervisor logs the error, records the outage in
``<source>:down`` (one field per worker: the error's type, since when, when it retries), waits a
backoff that doubles up to :data:`MAX_BACKOFF_S`, and starts a fresh ingester, which first recovers the
messages the crashed one held. ``arq_status`` and the health report read the record while it is due.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
from collections.abc import Awaitable
from dataclasses import asdict, dataclass
from typing import Any, Final, cast

import redis
from redis.asyncio import Redis

from arq_django.ingest.ingester import ListIngester
from arq_django.ingest.lease import sleep_unless
from arq_django.keys import SourceKeys

logger = logging.getLogger("arq_django.ingest")

MAX_BACKOFF_S: Final = 30.0
GRACE_S: Final = 10.0
"""How long past its announced retry a down record still counts (a worker killed meanwhile)."""


@dataclass(frozen=True)
class IngestDown:
    """One worker's ingester of one source, crashed and waiting to restart."""

    worker: str
    """``host:pid``."""
    error: str
    """The exception's type (its message, which may name hosts, is in the worker's log)."""
    since: float
    """Epoch seconds of the first crash in this run of crashes."""
    retry_at: float
    """Epoch seconds of the next restart."""
    crashes: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_down(client: redis.Redis, source: str, now: float | None = None) -> list[IngestDown]:
    """The current outages of ``source``'s in-worker ingesters (stale records are ignored)."""
    now = time.time() if now is None else now
    fields = cast(dict[bytes, bytes], client.hgetall(SourceKeys(source).down))
    out = []
    for worker, raw in sorted(fields.items()):
        try:
            d = json.loads(raw)
            down = IngestDown(worker.decode(), str(d["error"]), d["since"], d["retry_at"], d["crashes"])
        except (ValueError, KeyError, TypeError):
            continue
        if down.retry_at + GRACE_S >= now:
            out.append(down)
    return out


class Supervisor:
    """Runs one source's :class:`ListIngester` until :meth:`stop`, restarting it after a crash."""

    def __init__(self, source: str, client: Redis | None = None) -> None:
        self.source = source
        self.client = client
        self.worker = f"{socket.gethostname()}:{os.getpid()}"
        self.crashes = 0
        self.ingester: ListIngester | None = None
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()
        if self.ingester is not None:
            self.ingester.stop()

    async def run(self) -> None:
        try:
            await self._run()
        finally:
            if self.crashes:
                await self._record(None)  # a stopped worker is not a down ingester

    async def _run(self) -> None:
        backoff, since = 0.0, 0.0
        while not self._stopping.is_set():
            self.ingester = ListIngester(self.source, client=self.client)
            if self.crashes:
                await self._record(None)
            try:
                await self.ingester.run()
                return
            except Exception as e:
                self.crashes += 1
                since = since if backoff else time.time()
                backoff = min(max(backoff * 2, 0.5), MAX_BACKOFF_S)
                logger.exception(
                    "list %s: ingestion stopped on an error (crash %d); restarting in %.1f s",
                    self.source,
                    self.crashes,
                    backoff,
                )
                await self._record(
                    IngestDown(self.worker, type(e).__name__, since, time.time() + backoff, self.crashes)
                )
            await sleep_unless(self._stopping, backoff)

    async def _record(self, down: IngestDown | None) -> None:
        """Write (or, once restarted, clear) this worker's down record; Redis trouble is only logged."""
        if self.ingester is None:
            return
        key = SourceKeys(self.source).down
        client = self.ingester.client
        try:
            if down is None:
                await cast(Awaitable[int], client.hdel(key, self.worker))
            else:
                await cast(Awaitable[int], client.hset(key, self.worker, json.dumps(down.as_dict())))
        except (redis.RedisError, OSError) as e:
            logger.warning("list %s: could not record the ingester's state (%s)", self.source, e)
