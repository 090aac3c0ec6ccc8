"""Finish jobs in batches: the writes of arq's ``finish_job``, for every job that ends together, in one call.

arq ends each job with its own MULTI / EXEC pipeline. Here a job that ends joins a batch; one Lua call
per batch performs, per job, exactly arq's writes (result record, delete the job, retry and in-progress
keys or keep the cron in-progress key, ZREM from the queue and the abort set, or ZINCRBY for a retry),
atomically. While one call is in flight the next batch fills, so under load the batches grow and an
idle worker still finishes a lone job at once.

The same call adds each finished job that keeps a result to its queue's history index
(:func:`history_key`), a sorted set of job ids scored by finish time and trimmed to the newest
:data:`HISTORY_MAX`, so listings of finished jobs read an index instead of scanning every result key.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from string import Template

from arq.connections import ArqRedis
from arq.constants import (
    abort_jobs_ss,
    in_progress_key_prefix,
    job_key_prefix,
    result_key_prefix,
    retry_key_prefix,
)

from arq_django import keys
from arq_django.connection import REDIS_DOWN
from arq_django.connection.direct import Script

logger = logging.getLogger("arq_django.worker")
_RETRY_S = 0.5
HISTORY_PREFIX = keys.HISTORY_PREFIX
HISTORY_MAX = 50_000
"""Finished jobs each queue's history index keeps (the newest); their results expire as usual."""


history_key = keys.history_key


# KEYS: queue, and its history index where the worker keeps one. ARGV: three values per job: id,
# result record ("" = none) and "finish,result TTL ms,score increment,in-progress TTL ms": finish is
# 1 or 0, an empty TTL keeps the result forever, an empty increment adds none, an empty in-progress
# TTL deletes the key.
_FINISH_LUA = Template("""
local queue, history = KEYS[1], KEYS[2]
local now = redis.call('TIME')
local now_ms = now[1] * 1000 + math.floor(now[2] / 1000)
local indexed = 0
for i = 1, #ARGV, 3 do
  local id, result = ARGV[i], ARGV[i + 1]
  local finish, ttl, incr, keep = string.match(ARGV[i + 2], '^(%d),([^,]*),([^,]*),([^,]*)$$')
  if keep == '' then
    redis.call('DEL', '$in_progress' .. id)
  else
    redis.call('PEXPIRE', '$in_progress' .. id, keep)
  end
  if finish == '1' then
    if result ~= '' then
      if ttl == '' then
        redis.call('SET', '$result' .. id, result)
      else
        redis.call('SET', '$result' .. id, result, 'PX', ttl)
      end
      if history then
        redis.call('ZADD', history, now_ms, id)
        indexed = indexed + 1
      end
    end
    redis.call('DEL', '$retry' .. id, '$job' .. id)
    redis.call('ZREM', '$abort', id)
    redis.call('ZREM', queue, id)
  elseif incr ~= '' then
    redis.call('ZINCRBY', queue, incr, id)
  end
end
if indexed > 0 then
  redis.call('ZREMRANGEBYRANK', history, 0, -$history_max - 1)
end
return 1
""").substitute(
    history_max=HISTORY_MAX,
    in_progress=in_progress_key_prefix,
    result=result_key_prefix,
    retry=retry_key_prefix,
    job=job_key_prefix,
    abort=abort_jobs_ss,
)


@dataclass(frozen=True)
class Finish:
    """What one ended try writes (the arguments of arq's ``Worker.finish_job``, in milliseconds)."""

    job_id: str
    finish: bool
    """The job is done (complete, failed or aborted); otherwise it stays queued to run again."""
    result: bytes | None
    result_ttl_ms: int | None
    """``None`` keeps the result forever."""
    incr_score_ms: int | None
    keep_in_progress_ms: int | None
    """Cron jobs keep their in-progress key this long; ``None`` deletes it."""

    def args(self) -> tuple[str, bytes, bytes]:
        ttl = "" if self.result_ttl_ms is None else max(self.result_ttl_ms, 1)
        keep = "" if self.keep_in_progress_ms is None else max(self.keep_in_progress_ms, 1)
        spec = f"{int(self.finish)},{ttl},{self.incr_score_ms or ''},{keep}"
        return self.job_id, self.result or b"", spec.encode()


class Finisher:
    """Collects :class:`Finish` writes and flushes them, one Lua call per batch, one call at a time."""

    def __init__(self, pool: ArqRedis, queue_name: str, *, history: bool = True) -> None:
        self.pool = pool
        self._keys = [queue_name, history_key(queue_name)] if history else [queue_name]
        self._script = Script(pool, _FINISH_LUA)
        self._pending: list[tuple[Finish, asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None

    def submit(self, write: Finish) -> asyncio.Future[None]:
        """Queue ``write`` for the next batch; the future resolves once Redis has applied it."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self._pending.append((write, done))
        if self._flusher is None:
            self._flusher = loop.create_task(self._flush())
        return done

    async def finish(self, write: Finish) -> None:
        """Write ``write`` with the next batch."""
        await self.submit(write)

    async def _flush(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                args: list[str | bytes] = []
                for write, _ in batch:
                    args.extend(write.args())
                try:
                    await self._script(keys=self._keys, args=args)
                except asyncio.CancelledError:
                    for _, done in batch + self._pending:
                        done.cancel()
                    self._pending = []
                    raise
                except REDIS_DOWN as e:
                    # The jobs have run: their ends must be written. Keep the batch and try again
                    # until Redis is back (a restart or failover), instead of failing finished jobs.
                    logger.warning(
                        "finishing %d job(s) failed (%s: %s); retrying", len(batch), type(e).__name__, e
                    )
                    self._pending = batch + self._pending
                    await asyncio.sleep(_RETRY_S)
                    continue
                except Exception as e:
                    # Each job's finish_job raises it, as arq's own pipeline would.
                    for _, done in batch:
                        if not done.done():
                            done.set_exception(e)
                    continue
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)
        finally:
            self._flusher = None


async def wait_written(written: asyncio.Future[None]) -> None:
    """Wait for a job's finish write, even through a cancellation (a worker shutting down cancels its
    job tasks): the job has run, so its end is still recorded and reported, and the cancellation is
    dropped. A failed write raises."""
    cancelled = False
    while not written.done():
        try:
            await asyncio.shield(written)
        except asyncio.CancelledError:
            if written.cancelled():
                raise
            cancelled = True
    if cancelled:
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()
    written.result()
