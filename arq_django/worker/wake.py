"""Wake-up signals: ``enqueue()`` pushes a token, an idle worker blocks on the list instead of sleeping.

Each queue has a capped list, ``arq_django:wake:<queue>``. ``enqueue()``/``aenqueue()`` push a token in
the job's own script (so a worker that pops it will see the job) and trim the list, so tokens never
pile up beyond :data:`WAKE_CAP` when no worker runs. A token is the producer's clock in epoch ms (the
time by which its job is due); ingestion and earlier releases push ``1``. One token wakes one blocked
worker; a burst wakes several, and a worker whose claim came back full claims again as its slots free.

The producer side is ``queue_wake`` (:mod:`arq_django.client.enqueue`) and the enqueue script. The
worker side, :class:`WakeListener`, holds one connection of its own and keeps a blocking read in flight
only while the worker has room for jobs. Outside burst mode the worker's claim rides behind that read
(:meth:`arq_django.worker.claim.Claimer.claim_on_wake`), so the job arrives with the wake-up; a claim
the worker has no room for by then is given back at once and its token passed on. The read's
server timeout is coarse on purpose: Redis checks blocking timeouts ten times a second, so the worker
keeps its own, precise timers (deferred jobs, polling for jobs from plain arq producers, which send no
token) and only uses the list to be woken early.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from arq_django import keys
from arq_django.client.enqueue import queue_wake
from arq_django.connection import aclose
from arq_django.worker.claim import Claim, Claimer

logger = logging.getLogger("arq_django.worker")

WAKE_KEY_PREFIX = keys.WAKE_PREFIX
WAKE_CAP = keys.WAKE_CAP
wake_key = keys.wake_key
BLOCK_S = 5
"""Server-side timeout of the blocking read: how often an idle worker's listener re-issues it (whole
seconds, which every Redis accepts; a client read timeout below 10 s makes it a fraction of that)."""
_READ_GRACE_S = 5.0
"""Beyond ``BLOCK_S``, how long a blocking read may stay unanswered before the connection is deemed dead."""
_RETRY_S = 1.0


class WokenTaker(Protocol):
    """The worker side of a claim on wake-up (:class:`arq_django.worker.loop.LoopWorker`)."""

    max_jobs: int
    job_counter: int
    queue_read_limit: int

    def take_woken(self, claim: Claim) -> bool: ...


class WakeListener:
    """Keeps one blocking read on a queue's wake list in flight while armed.

    Given a ``taker``, the read and the worker's claim go out together (the claim runs in Redis as soon
    as a token arrives, and its reply comes back with the token's) and the taker starts the jobs;
    otherwise it calls ``on_wake`` per token and the worker claims on its next iteration. The worker
    arms it while it has room for jobs and disarms it when full. A token that arrives while disarmed
    (the read was already in flight) is pushed back for another worker instead of being lost.
    """

    def __init__(
        self,
        redis: Redis,
        queue_name: str,
        on_wake: Callable[[], None],
        taker: tuple[Claimer, WokenTaker] | None = None,
    ) -> None:
        # A connection of its own, so a blocked read never holds up the worker's job pipelines.
        self._redis = Redis(connection_pool=redis.connection_pool, single_connection_client=True)
        self.queue_name = queue_name
        self.key = wake_key(queue_name)
        self._on_wake = on_wake
        self._taker = taker
        self._armed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.block_s: float = BLOCK_S
        socket_timeout: Any = redis.connection_pool.connection_kwargs.get("socket_timeout")
        if socket_timeout:
            # A blocking read must end before the client's own read timeout would cut it.
            self.block_s = min(BLOCK_S, max(float(socket_timeout) / 2, 0.1))

    @property
    def armed(self) -> bool:
        return self._armed.is_set()

    def arm(self) -> None:
        self._armed.set()
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name=f"arq-django-wake {self.key}"
            )

    def disarm(self) -> None:
        self._armed.clear()

    async def close(self) -> None:
        self._armed.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        with contextlib.suppress(RedisError, OSError):
            await aclose(self._redis, close_connection_pool=False)

    async def _run(self) -> None:
        failing = False
        while True:
            await self._armed.wait()
            try:
                async with asyncio.timeout(self.block_s + _READ_GRACE_S):
                    if self._taker is not None:
                        await self._claim()
                        token = None
                    else:
                        token = await self._redis.execute_command("BLPOP", self.key, self.block_s)  # type: ignore[no-untyped-call]
                if token is not None and not self._armed.is_set():
                    # Taken while this worker filled up: pass it on to another worker.
                    await self.pass_on()
                    token = None
            except (RedisError, OSError, TimeoutError) as e:
                # The worker still polls on its own timers; wake-ups resume once Redis answers again.
                if not failing:
                    logger.warning(
                        "wake listener on %s failed (%s: %s); retrying", self.key, type(e).__name__, e
                    )
                failing = True
                await asyncio.sleep(_RETRY_S)
                continue
            if failing:
                logger.info("wake listener on %s recovered", self.key)
                failing = False
            if token is not None:
                self._on_wake()

    async def _claim(self) -> None:
        assert self._taker is not None
        claimer, taker = self._taker
        want = min(taker.max_jobs - taker.job_counter, taker.queue_read_limit)
        if want <= 0:
            self.disarm()  # full since it was armed; the worker's next wait arms it again
            return
        claim = await claimer.claim_on_wake(self._redis, self.key, want, taker.queue_read_limit, self.block_s)
        if claim is None:
            return
        if not taker.take_woken(claim):
            # The worker's own loop filled it while the read waited: the jobs go back for another worker.
            claimer.reject(claim)
            await claimer.release_lost()
            await self.pass_on()
            return
        # Let the jobs reach their handlers (run_claimed, then the handler's own task) before the
        # next read is sent.
        await asyncio.sleep(0)
        await asyncio.sleep(0)

    async def pass_on(self) -> None:
        """Push a wake token back for another worker (this one took it but has no room)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            queue_wake(pipe, self.queue_name)
            await pipe.execute()
