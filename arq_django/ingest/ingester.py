"""``ListIngester``: turn the messages of a Redis list into arq jobs, losing and duplicating none.

One cycle: ``BLMOVE`` the oldest message from the source into this ingester's processing list (plus up
to a batch more with a script), plan each (:mod:`.message`), then commit the batch in one atomic script
that, per message, removes it from the processing list and — only if it was still there — writes the
job exactly as ``enqueue()`` does, or the dead letter. So at every instant a message is in exactly one
place: the source, a processing list, the queue (as a job) or the dead list. A crash before the commit
leaves it in the processing list, from which the lease (:mod:`.lease`) puts it back on the source; a
crash after it has nothing left to redo. Hence each message is enqueued exactly once, and its job then
runs with arq's usual at-least-once guarantee.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections import Counter
from collections.abc import Awaitable
from typing import Any, ClassVar, cast

import redis
from redis.asyncio import Redis

from arq_django.client.plan import JobPlan
from arq_django.conf import get_config
from arq_django.connection import aclose, aclose_pools, async_pool, redact_url
from arq_django.exceptions import MalformedMessage
from arq_django.ingest import dead_letters
from arq_django.ingest.decision import Decision, IngestStats, commit_call, refused
from arq_django.ingest.lease import Lease, consumer_id, sleep_unless
from arq_django.ingest.message import ListMessage, parse, plan
from arq_django.ingest.scripts import CLAIM, COMMIT
from arq_django.jobs.registry import JobSpec
from arq_django.keys import SourceKeys

logger = logging.getLogger("arq_django.ingest")

BATCH = 100
"""Messages claimed and committed per round trip when the list has a backlog."""


class ListIngester:
    """Feeds arq from one Redis list. ``await run()`` until :meth:`stop` or ``max_messages``."""

    mode: ClassVar[str] = "enqueue"

    def __init__(
        self,
        source: str,
        *,
        client: Redis | None = None,
        block: float = 1.0,
        max_messages: int | None = None,
        lease: float | None = None,
        consumer: str | None = None,
    ) -> None:
        self.keys = SourceKeys(source)
        self.consumer = consumer or consumer_id()
        self.block = block
        """Seconds one ``BLMOVE`` waits: the longest a stop request waits for the loop."""
        self.max_messages = max_messages
        self.lease_seconds = lease if lease is not None else get_config().list_lease
        self._client = client
        self._stopping = asyncio.Event()
        self._resume = False
        self._held: Counter[bytes] = Counter()
        """Claimed messages still being worked on in memory (``--run-inline``: running jobs)."""
        self.taken = self.enqueued = self.duplicates = self.dead = self.ran = self.failed = 0

    @property
    def processing(self) -> str:
        return self.keys.processing(self.consumer)

    @property
    def client(self) -> Redis:
        if self._client is None:
            self._client = async_pool()
        return self._client

    def stop(self) -> None:
        """Ask :meth:`run` to return after the current step (signal handlers call this)."""
        self._stopping.set()

    def stats(self) -> IngestStats:
        return IngestStats(self.taken, self.enqueued, self.duplicates, self.dead, self.ran, self.failed)

    async def run(self) -> IngestStats:
        """Ingest until stopped or ``max_messages`` are taken; Redis outages are waited out, not fatal."""
        config = get_config()
        lease = Lease(self.client, self.keys, self.consumer, self.lease_seconds, self.mode)
        if not await self._join(lease):
            return self.stats()
        leaving = asyncio.Event()
        keeper = asyncio.create_task(lease.keep(leaving))
        # BLMOVE holds its connection while it waits, so it gets one of its own.
        blocking = Redis.from_url(
            config.redis_url,
            socket_connect_timeout=config.connect_timeout,
            socket_timeout=self.block + config.socket_timeout,
        )
        logger.info(
            "list %s on %s: ingester %s started (%s mode)",
            self.keys.source,
            redact_url(config.redis_url),
            self.consumer,
            self.mode,
        )
        try:
            await self._loop(blocking)
        finally:
            await self._drain(interrupted=self._stopping.is_set())
            leaving.set()  # the heartbeat outlives the drain: running inline jobs keep their claims
            await keeper
            try:
                await lease.release()
            except (redis.RedisError, OSError) as e:
                logger.error(
                    "list %s: could not hand back unfinished messages of %s (%s); they return to the "
                    "list once its lease of %ss expires",
                    self.keys.source,
                    self.consumer,
                    e,
                    self.lease_seconds,
                )
            await aclose(blocking)
            logger.info("list %s: ingester %s stopped: %s", self.keys.source, self.consumer, self.stats())
        return self.stats()

    async def _join(self, lease: Lease) -> bool:
        """Register on the source and recover dead ingesters' messages; ``False`` if stopped first."""
        backoff = 0.0
        while not self._stopping.is_set():
            try:
                await lease.renew()
                await lease.recover_orphans()
                return True
            except (redis.RedisError, OSError) as e:
                backoff = _next_backoff(backoff)
                logger.error(
                    "list %s: Redis at %s failed (%s); retrying in %.1fs",
                    self.keys.source,
                    redact_url(get_config().redis_url),
                    e,
                    backoff,
                )
                await self._sleep(backoff)
        return False

    async def _loop(self, blocking: Redis) -> None:
        claim = self.client.register_script(CLAIM)
        backoff = 0.0
        while not self._stopping.is_set() and self._remaining() != 0:
            try:
                if self._resume:
                    self._resume = False
                    raws = await self._unfinished()
                else:
                    limit = await self._capacity()
                    if limit == 0:
                        continue
                    raws = await self._claim(blocking, claim, limit)
                if raws:
                    await self._process(raws)
                backoff = 0.0
            except (redis.RedisError, OSError) as e:
                # Whatever was claimed is still in the processing list, the source of truth: re-read it.
                self._resume = True
                backoff = _next_backoff(backoff)
                logger.error("list %s: Redis failed (%s); retrying in %.1fs", self.keys.source, e, backoff)
                await self._sleep(backoff)

    def _remaining(self) -> int | None:
        if self.max_messages is None:
            return None
        return max(self.max_messages - self.taken, 0)

    async def _capacity(self) -> int:
        """How many messages to claim next (0: check for a stop and ask again)."""
        remaining = self._remaining()
        return BATCH if remaining is None else min(BATCH, remaining)

    async def _claim(self, blocking: Redis, claim: Any, limit: int) -> list[bytes]:
        first = await blocking.blmove(self.keys.source, self.processing, self.block, "RIGHT", "LEFT")  # type: ignore[arg-type]
        if first is None:
            return []
        if limit == 1:
            return [first]
        more = await claim(keys=[self.keys.source, self.processing], args=[limit - 1])
        return [first, *more]

    async def _unfinished(self) -> list[bytes]:
        """Messages in this ingester's processing list that nothing in memory is working on, oldest first."""
        entries = await cast(Awaitable[list[bytes]], self.client.lrange(self.processing, 0, -1))
        held = Counter(self._held)
        out: list[bytes] = []
        for raw in reversed(entries):
            if held[raw]:
                held[raw] -= 1
            else:
                out.append(raw)
        return out

    def _prepare(self, raw: bytes) -> tuple[ListMessage, JobSpec, JobPlan] | str:
        """The message, its job and write plan, or the reason it cannot become a job."""
        try:
            message = parse(raw)
            spec, job_plan = plan(message, self.keys.source)
        except MalformedMessage as e:
            return dead_letters.printable(e.reason)
        except Exception as e:
            # Whatever else a message can trip (it is untrusted input): a dead letter, never a crash
            # that would meet the same message again after every restart.
            logger.exception("list %s: a message could not be planned", self.keys.source)
            return dead_letters.printable(f"cannot become a job: {type(e).__name__}: {e}")
        return message, spec, job_plan

    async def _process(self, raws: list[bytes]) -> None:
        outcomes = []
        for raw in raws:
            prepared = self._prepare(raw)
            if isinstance(prepared, str):
                outcomes.append(Decision(raw, reason=prepared))
            else:
                outcomes.append(Decision(raw, plan=prepared[2]))
        await self.commit(outcomes)

    async def commit(self, outcomes: list[Decision]) -> None:
        """Apply the outcomes atomically (one script call) and count them. A job Redis refuses to write
        (or the client cannot encode) is dead-lettered with Redis' reason instead; a dead letter that
        cannot be written raises, and the message stays claimed (retried, never dropped)."""
        try:
            results = await self._commit_script(outcomes)
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            raise
        except (redis.RedisError, ValueError) as e:
            if len(outcomes) > 1:
                for o in outcomes:  # find the one refused; the others commit as planned
                    await self.commit([o])
                return
            if outcomes[0].plan is None:
                raise  # a dead letter or an ack: the loop retries it with backoff
            await self.commit([refused(outcomes[0], e)])
            return
        letters = []
        for o, result in zip(outcomes, results, strict=True):
            if isinstance(result, list):
                letters.append(refused(o, result[1]))
            else:
                self._count(o, int(result))
        if letters:
            await self.commit(letters)

    async def _commit_script(self, outcomes: list[Decision]) -> list[Any]:
        keys, args = commit_call(outcomes, self.keys, self.consumer)
        script = self.client.register_script(COMMIT)
        return cast(list[Any], await script(keys=keys, args=args))

    def _count(self, o: Decision, result: int) -> None:
        if result == 0:
            logger.warning(
                "list %s: ingester %s lost its claim on a message: its lease lapsed and another ingester "
                "put the message back on the list, where it will be taken again",
                self.keys.source,
                self.consumer,
            )
            return
        if not o.ran:
            self.taken += 1
        if o.reason is not None:
            self.dead += 1
            logger.warning("list %s: message moved to %s: %s", self.keys.source, self.keys.dead, o.reason)
        elif o.plan is None:
            pass  # an inline job's acknowledgement
        elif result == 2:
            self.duplicates += 1
            logger.info(
                "list %s: job id %s already exists; the message is a duplicate and was not enqueued",
                self.keys.source,
                o.plan.job_id,
            )
        else:
            self.enqueued += 1

    async def _drain(self, *, interrupted: bool) -> None:
        """Called once the loop ends (``--run-inline`` waits for running jobs here)."""

    async def _sleep(self, seconds: float) -> None:
        await sleep_unless(self._stopping, seconds)


def _next_backoff(previous: float) -> float:
    return min(max(previous * 2, 0.1), 5.0)


async def run_until_signalled(ingester: ListIngester) -> IngestStats:
    """Run ``ingester`` until it is done or SIGINT/SIGTERM arrives (then it stops cleanly)."""
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
        loop.add_signal_handler(sig, ingester.stop)
    try:
        return await ingester.run()
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
        await aclose_pools()
