"""Wait for Redis before a worker starts: a container started before its Redis keeps trying, and says
so every few seconds, instead of dying with a traceback after arq's few connection attempts. A running
worker rides out an outage the same way (:class:`Outage`)."""

from __future__ import annotations

import asyncio
import logging
import time

import redis

from arq_django.connection import redis_failure, server_for, sync_client
from arq_django.exceptions import RedisUnavailable

logger = logging.getLogger("arq_django.worker")
loop_logger = logging.getLogger("arq.worker")

FIRST_DELAY = 0.2
MAX_DELAY = 5.0
"""Seconds between attempts grow from ``FIRST_DELAY`` by half each time, up to this."""
SAY_EVERY = 5.0
"""Seconds between the warnings that say the worker is still waiting."""


def wait_for_redis(retries: int | None = None, *, queue: str | None = None) -> None:
    """Return once Redis answers PING; retry with backoff meanwhile, logging a warning every
    :data:`SAY_EVERY` seconds. ``retries`` failed attempts after the first (``None``: no limit) raise
    :class:`RedisUnavailable`. ``queue``: wait for that queue's server."""
    client = sync_client(queue=queue)
    server = server_for(queue)
    started = time.monotonic()
    said_at: float | None = None
    delay, failures = FIRST_DELAY, 0
    while True:
        try:
            client.ping()
        except (redis.RedisError, OSError) as e:
            failures += 1
            waited = time.monotonic() - started
            if retries is not None and failures > retries:
                raise RedisUnavailable(
                    f"worker not started: {redis_failure(e, server=server)}, {failures} attempts in "
                    f"{waited:.0f} s. Start "
                    "Redis or fix ARQ_DJANGO['REDIS_URL'] (--redis-retries sets how long to keep trying)."
                ) from e
            if said_at is None or time.monotonic() - said_at >= SAY_EVERY:
                said_at = time.monotonic()
                logger.warning(
                    "waiting for Redis: %s; retrying (%d attempts, %.0f s so far)",
                    redis_failure(e, server=server),
                    failures,
                    waited,
                )
            time.sleep(delay)
            delay = min(delay * 1.5, MAX_DELAY)
            continue
        if failures:
            logger.info("Redis answers after %.0f s of waiting", time.monotonic() - started)
        return


class Outage:
    """A running worker's loop when Redis stops answering: back off (0.2 s doubling to 2 s) and say so;
    jobs already running finish (their ends are retried), claiming resumes when Redis answers."""

    def __init__(self) -> None:
        self.failures = 0

    async def wait(self, e: BaseException) -> None:
        self.failures += 1
        delay = min(0.1 * 2 ** min(self.failures, 5), 2.0)
        loop_logger.warning("Redis unavailable (%s: %s); retrying in %.1f s", type(e).__name__, e, delay)
        await asyncio.sleep(delay)

    def over(self) -> None:
        if self.failures:
            loop_logger.info("Redis is back after %d failed attempt(s)", self.failures)
            self.failures = 0
