"""Ingester membership of a source: a heartbeat key with a TTL, and recovery of the ones that stopped.

Each ingester claims messages into its own processing list. While it lives it refreshes
``<source>:consumer:<id>`` (TTL ``LIST_LEASE``) every third of the lease. Any ingester that finds a
member of ``<source>:consumers`` without a heartbeat moves that member's processing list back onto the
source, at the end consumed next and in the original order, in one atomic script. No clocks are compared:
Redis expires the heartbeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Awaitable
from typing import cast

import redis
from redis.asyncio import Redis

from arq_django.ingest.scripts import RECOVER
from arq_django.keys import SourceKeys

logger = logging.getLogger("arq_django.ingest")


def consumer_id() -> str:
    """``host:pid:random``: unique even when a restarted process reuses a pid."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Lease:
    """One ingester's heartbeat on one source, plus recovery of dead ingesters' messages."""

    def __init__(self, client: Redis, keys: SourceKeys, consumer: str, seconds: float, mode: str) -> None:
        self.client = client
        self.keys = keys
        self.consumer = consumer
        self.seconds = seconds
        self.mode = mode
        self._recover = client.register_script(RECOVER)

    async def renew(self) -> None:
        """Announce (or keep announcing) this ingester; must run before its first claim."""
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.set(self.keys.heartbeat(self.consumer), self.mode, px=round(self.seconds * 1000))
            pipe.sadd(self.keys.consumers, self.consumer)
            await pipe.execute()

    async def recover_orphans(self) -> int:
        """Put back the messages of every ingester whose heartbeat expired; returns how many moved."""
        members = await cast(Awaitable[set[bytes]], self.client.smembers(self.keys.consumers))
        moved = 0
        for member in sorted(m.decode() for m in members):
            if member != self.consumer:
                n = await self._recover_one(member, force=False)
                if n > 0:
                    logger.warning(
                        "list %s: ingester %s stopped without finishing; %d claimed messages put back",
                        self.keys.source,
                        member,
                        n,
                    )
                moved += max(n, 0)
        return moved

    async def release(self) -> int:
        """Leave: this ingester's unfinished messages go back onto the source, its heartbeat is deleted."""
        return await self._recover_one(self.consumer, force=True)

    async def _recover_one(self, member: str, *, force: bool) -> int:
        keys = [
            self.keys.consumers,
            self.keys.heartbeat(member),
            self.keys.processing(member),
            self.keys.source,
        ]
        return int(await self._recover(keys=keys, args=[member, "1" if force else "0"]))

    async def keep(self, stopping: asyncio.Event) -> None:
        """Renew and recover every third of the lease until ``stopping`` is set; Redis errors are retried."""
        interval = self.seconds / 3
        while not stopping.is_set():
            try:
                await self.renew()
                await self.recover_orphans()
            except (redis.RedisError, OSError) as e:
                logger.error("list %s: heartbeat of %s failed: %s", self.keys.source, self.consumer, e)
            await sleep_unless(stopping, interval)


async def sleep_unless(event: asyncio.Event, seconds: float) -> None:
    """Sleep ``seconds``, or less if ``event`` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), seconds)
