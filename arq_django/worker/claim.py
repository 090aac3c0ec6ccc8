"""Claim ready jobs in one round trip, keeping arq's in-progress key protocol.

arq claims each ready job with its own WATCH / EXISTS / ZSCORE / MULTI / PSETEX / EXEC round trips and
then fetches it with a second pipeline (GET job, INCR retry counter, EXPIRE, ZREM abort). The Lua
script below does both for a whole batch: for every ready id, in score order, whose in-progress key does
not exist it sets that key (PSETEX, as arq does) and reads what ``run_job`` needs. A script runs
atomically, so the existence check and the PSETEX cannot be split by another client: an arq_django
worker and a plain arq worker on the same queue never both start a job.

Each claim carries a token: its in-progress keys hold it (arq only checks that they exist) and a short
lived record, ``arq_django:claim:<token>``, lists what it took (the next claim deletes it, so a queue
keeps arq's keys). When a claim's reply is lost (Redis went
down mid-call, or the worker was cancelled), the jobs it may have marked would otherwise wait for their
in-progress keys to expire (the longest job timeout plus 10 s). Instead the worker's next claim first
releases them (:data:`_RELEASE_LUA`): every key still holding the lost token is deleted, its try undone
and its abort request put back, so the jobs are claimable at once. The same release gives back a claim
the worker has no room for (:meth:`Claimer.reject`).

An idle worker claims on wake-up (:meth:`Claimer.claim_on_wake`): the same script, queued behind the
blocking read of the queue's wake list on one connection, so Redis runs it the moment a token arrives.
The read moves the token to a list of the claimer's own, where the script finds (and deletes) it;
without a token (the read timed out) the script does nothing.
"""

from __future__ import annotations

import asyncio
import logging
import math
import uuid
from dataclasses import dataclass
from string import Template
from typing import Any

from arq.connections import ArqRedis
from arq.constants import abort_jobs_ss, in_progress_key_prefix, job_key_prefix, retry_key_prefix
from arq.utils import timestamp_ms
from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError

from arq_django import keys
from arq_django.connection import REDIS_DOWN
from arq_django.connection.direct import Script

logger = logging.getLogger("arq_django.worker")

RETRY_KEY_TTL_S = 88400
"""arq's TTL for the ``arq:retry:<id>`` try counter."""
CLAIM_KEY_PREFIX = keys.CLAIM_PREFIX
CLAIM_RECORD_MS = 60_000
"""How long a claim's record outlives it: a Redis back later than this leaves a lost claim's jobs to
their in-progress keys' expiry, as before."""

# KEYS: queue, and for a claim on wake-up (:meth:`Claimer.claim_on_wake`) the list the wake token was
# moved to and the wake list. ARGV: now_ms, want, read_limit, in_progress_ms, "1" to look up aborts, token,
# record ms, the token of the last claim whose reply arrived (its record is no longer needed) or "", and on
# wake-up the latest time a producer's clock may move now_ms to.
# Returns {zcard, next_due_ms or false, due count, id, score, job record or false, try, aborted, id, ...},
# or {-1} on wake-up when no token was moved (the blocking read timed out).
_CLAIM_LUA = Template("""
local queue = KEYS[1]
local want = tonumber(ARGV[2])
local now = ARGV[1]
if #KEYS > 1 then
  local token = redis.call('LPOP', KEYS[2])
  if not token then return {-1} end
  redis.call('DEL', KEYS[2])
  local newest = redis.call('LINDEX', KEYS[3], 0)
  local announced = math.max(tonumber(token) or 0, tonumber(newest) or 0)
  announced = math.min(announced, tonumber(ARGV[9]))
  if announced > tonumber(ARGV[1]) then now = string.format('%.0f', announced) end
end
local ids = redis.call('ZRANGEBYSCORE', queue, '-inf', now, 'WITHSCORES', 'LIMIT', 0, ARGV[3])
local out = {0, false, 0}
local claimed = 0
local record = '$claim' .. ARGV[6]
if ARGV[8] ~= '' then redis.call('DEL', '$claim' .. ARGV[8]) end
for i = 1, #ids, 2 do
  if claimed >= want then break end
  local id = ids[i]
  local in_progress = '$in_progress' .. id
  if redis.call('EXISTS', in_progress) == 0 then
    redis.call('PSETEX', in_progress, ARGV[4], ARGV[6])
    local retry = '$retry' .. id
    local job_try = redis.call('INCR', retry)
    redis.call('EXPIRE', retry, $retry_ttl)
    local aborted = 0
    if ARGV[5] == '1' then aborted = redis.call('ZREM', '$abort', id) end
    out[#out + 1] = id
    out[#out + 1] = ids[i + 1]
    out[#out + 1] = redis.call('GET', '$job' .. id)
    out[#out + 1] = job_try
    out[#out + 1] = aborted
    redis.call('RPUSH', record, id, aborted)
    claimed = claimed + 1
  end
end
if claimed > 0 then redis.call('PEXPIRE', record, ARGV[7]) end
out[1] = redis.call('ZCARD', queue)
out[3] = redis.call('ZCOUNT', queue, '-inf', now)
if claimed < want then
  local later = redis.call('ZRANGEBYSCORE', queue, '(' .. now, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
  if #later > 0 then out[2] = later[2] end
end
return out
""").substitute(
    in_progress=in_progress_key_prefix,
    retry=retry_key_prefix,
    retry_ttl=RETRY_KEY_TTL_S,
    abort=abort_jobs_ss,
    job=job_key_prefix,
    claim=CLAIM_KEY_PREFIX,
)

# ARGV: now_ms, then the tokens of claims whose reply was lost. Returns how many jobs were released.
_RELEASE_LUA = Template("""
local released = 0
for t = 2, #ARGV do
  local token = ARGV[t]
  local record = '$claim' .. token
  local items = redis.call('LRANGE', record, 0, -1)
  for i = 1, #items, 2 do
    local id = items[i]
    if redis.call('GET', '$in_progress' .. id) == token then
      redis.call('DEL', '$in_progress' .. id)
      if redis.call('DECR', '$retry' .. id) <= 0 then redis.call('DEL', '$retry' .. id) end
      if items[i + 1] == '1' then redis.call('ZADD', '$abort', ARGV[1], id) end
      released = released + 1
    end
  end
  redis.call('DEL', record)
end
return released
""").substitute(
    in_progress=in_progress_key_prefix,
    retry=retry_key_prefix,
    abort=abort_jobs_ss,
    claim=CLAIM_KEY_PREFIX,
)


@dataclass(frozen=True)
class ClaimedJob:
    """A job this worker now owns (its in-progress key is set), with what ``run_job`` reads first."""

    job_id: str
    score: int
    """When the job was due, in epoch milliseconds."""
    raw: bytes | None
    """The serialized job record; ``None`` when it expired before it could run."""
    job_try: int
    """The try counter after this claim incremented it (arq's ``arq:retry:<id>``)."""
    aborted: bool
    """An abort was requested before the job started (only looked up when aborts are allowed)."""


@dataclass(frozen=True)
class Claim:
    """The outcome of one claim round trip."""

    jobs: tuple[ClaimedJob, ...]
    queued: int
    """Jobs in the queue's sorted set after the claim (running ones included, as arq counts them)."""
    next_due_ms: int | None
    """The earliest future score, when fewer jobs than wanted were ready; ``None`` if none or unknown."""
    wanted: int
    due: int = 0
    """Jobs due at the claim's time (score <= now) left in the queue, running ones included."""
    token: str = ""
    """The claim's token (its in-progress keys hold it): :meth:`Claimer.reject` gives its jobs back."""

    @property
    def full(self) -> bool:
        """Every wanted job was claimed, so more may be ready: claim again as soon as there is room."""
        return len(self.jobs) >= self.wanted


class Claimer:
    """Runs the claim script for one queue on one pool (the script is loaded once, then EVALSHA)."""

    def __init__(self, pool: ArqRedis, queue_name: str, *, in_progress_ms: int, allow_abort: bool) -> None:
        self.queue_name = queue_name
        self.in_progress_ms = in_progress_ms
        self.abort_flag = b"1" if allow_abort else b"0"
        self._script = Script(pool, _CLAIM_LUA)
        self._sha: str = self._script.sha
        self._release: AsyncScript = pool.register_script(_RELEASE_LUA)
        self.lost: list[str] = []
        """Tokens of claims whose reply never arrived (they may have marked jobs in progress)."""
        self._recorded = ""
        """The token of the last claim that took jobs and was answered: the next claim drops its record."""
        self._woken_key = keys.woken_key(queue_name, uuid.uuid4().hex)

    async def claim(self, want: int, read_limit: int, now_ms: int) -> Claim:
        """Claim up to ``want`` jobs due at ``now_ms``, looking at no more than ``read_limit`` ready ids
        (at least ``want``: the caller caps ``want`` by arq's ``queue_read_limit``)."""
        if self.lost:
            await self.release_lost()
        token = uuid.uuid4().hex
        args = self._args(want, read_limit, now_ms, token)
        try:
            reply: list[Any] = await self._script(keys=[self.queue_name], args=args)
        except BaseException as e:
            self._check_lost(e, token)
            raise
        return self._parse(reply, want, token)

    async def claim_on_wake(
        self, conn: Redis, wake_key: str, want: int, read_limit: int, block_s: float
    ) -> Claim | None:
        """Wait up to ``block_s`` for a wake token on ``wake_key`` and claim in the same round trip:
        ``BRPOPLPUSH`` moves the token to a list of this claimer's and the claim script, queued right
        behind it on ``conn``, runs as soon as Redis hands the token over. ``None``: no token came.

        The script counts a job due by the latest time a producer announced (its token, or the newest
        one still waiting), since the worker's own clock was read before the wait; that time may pass the
        worker's by at most ``block_s``, so a producer clock running ahead starts a deferred job at most
        that much early."""
        if self.lost:
            await self.release_lost()
        now_ms = timestamp_ms()
        token = uuid.uuid4().hex
        args = [*self._args(want, read_limit, now_ms, token), now_ms + math.ceil(block_s * 1000)]
        script_keys = [self.queue_name, self._woken_key, wake_key]
        try:
            async with conn.pipeline(transaction=False) as pipe:
                pipe.execute_command("BRPOPLPUSH", wake_key, self._woken_key, block_s)
                pipe.execute_command("EVALSHA", self._sha, len(script_keys), *script_keys, *args)
                moved, reply = await pipe.execute(raise_on_error=False)
            if isinstance(reply, NoScriptError):  # Redis restarted: the token waits in the woken list
                reply = await self._script(keys=script_keys, args=args)
            for answer in (moved, reply):
                if isinstance(answer, Exception):
                    raise answer
        except BaseException as e:
            self._check_lost(e, token)
            raise
        if reply[0] == -1:
            return None
        return self._parse(reply, want, token)

    def reject(self, claim: Claim) -> None:
        """Give back what ``claim`` took (the worker has no room for it) on the next release."""
        if claim.jobs:
            self.lost.append(claim.token)

    def _args(self, want: int, read_limit: int, now_ms: int, token: str) -> list[int | bytes | str]:
        record_ms = min(CLAIM_RECORD_MS, self.in_progress_ms)
        args: list[int | bytes | str] = [now_ms, want, max(read_limit, want), self.in_progress_ms]
        return [*args, self.abort_flag, token, record_ms, self._recorded]

    def _check_lost(self, e: BaseException, token: str) -> None:
        if isinstance(e, (*REDIS_DOWN, asyncio.CancelledError)):
            self.lost.append(token)  # the script may have run: its reply is what got lost

    def _parse(self, reply: list[Any], want: int, token: str) -> Claim:
        jobs = tuple(
            ClaimedJob(
                job_id=reply[i].decode(),
                score=int(float(reply[i + 1])),
                raw=reply[i + 2],
                job_try=int(reply[i + 3]),
                aborted=bool(reply[i + 4]),
            )
            for i in range(3, len(reply), 5)
        )
        self._recorded = token if jobs else ""
        next_due = reply[1]
        return Claim(
            jobs=jobs,
            queued=int(reply[0]),
            next_due_ms=None if next_due is None else int(float(next_due)),
            wanted=want,
            due=int(reply[2]),
            token=token,
        )

    async def release_lost(self) -> int:
        """Make the jobs of claims whose reply was lost claimable again; returns how many were released."""
        tokens = list(self.lost)
        released = int(await self._release(args=[timestamp_ms(), *tokens]))
        del self.lost[: len(tokens)]
        if released:
            logger.warning(
                "released %d job(s) of %d claim(s) whose reply was lost; they run now", released, len(tokens)
            )
        return released
