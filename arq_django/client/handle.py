"""``JobHandle``: what ``enqueue()`` returns; reads arq's job, in-progress and result records.

Its status speaks the result mirror's words (:class:`JobState`): a job that raised is ``failed``, not
arq's ``complete``. Redis failures surface as :class:`~arq_django.exceptions.RedisUnavailable`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, cast

import redis
from redis.asyncio import Redis as AsyncRedis

from arq_django.client.abort import aabort, abort
from arq_django.client.wire import FinishedJob, JobRecord, decode_job, decode_result, timestamp_ms
from arq_django.conf import get_config
from arq_django.connection import async_pool, redis_failure, sync_client
from arq_django.exceptions import JobFailed, JobResultTimeout, RedisUnavailable, ResultNotFound
from arq_django.jobs.progress import Progress
from arq_django.jobs.progress import aread as aread_progress
from arq_django.jobs.progress import read as read_progress
from arq_django.keys import in_progress_key_prefix, job_key_prefix, result_key_prefix, retry_key_prefix
from arq_django.serializers import get_serializer

POLL_INTERVAL = 0.05


class JobState(StrEnum):
    """A job's status as the handle, the result mirror (``JobResult.Status``), the API and the commands
    report it. The values arq also has compare equal to arq's ``JobStatus`` members."""

    deferred = "deferred"
    queued = "queued"
    in_progress = "in_progress"
    retrying = "retrying"
    """A try ended without finishing the job (``Retry``, a retry policy, a worker shutdown)."""
    complete = "complete"
    failed = "failed"
    aborted = "aborted"
    not_found = "not_found"


def finished_state(info: FinishedJob) -> JobState:
    """``complete``, ``failed`` or ``aborted`` (cancelled by an abort), from a result record."""
    if info.success:
        return JobState.complete
    return JobState.aborted if isinstance(info.result, asyncio.CancelledError) else JobState.failed


def _state(raw_result: bytes | None, in_progress: int, score: float | None, tried: int) -> JobState:
    if raw_result:
        return finished_state(decode_result(raw_result, get_serializer().loads))
    if in_progress:
        return JobState.in_progress
    if score:
        if tried:  # arq counts a try when it starts one, and drops the counter when the job finishes
            return JobState.retrying
        return JobState.deferred if score > timestamp_ms() else JobState.queued
    return JobState.not_found


def _status_keys(job_id: str) -> tuple[str, str, str]:
    return result_key_prefix + job_id, in_progress_key_prefix + job_id, retry_key_prefix + job_id


@contextlib.contextmanager
def _reading(job_id: str) -> Iterator[None]:
    try:
        yield
    except redis.RedisError as e:  # redis-py wraps socket errors; a bare TimeoutError is a result timeout
        raise RedisUnavailable(
            f"could not read job {job_id}: {redis_failure(e)}. Check ARQ_DJANGO['REDIS_URL'] and that "
            "Redis is running."
        ) from e


def _outcome(info: FinishedJob) -> Any:
    if info.success:
        return info.result
    if isinstance(info.result, BaseException):
        raise info.result
    raise JobFailed("SerializationError", str(info.result))


def _settled(
    job_id: str, raw: bytes | None, score: float | None, deadline: float | None, timeout: float | None
) -> bool:
    """One poll of ``result()``: ``True`` once the result record is there, ``False`` to poll again;
    raises when the job is neither queued nor finished, or the wait is over."""
    if raw:
        return True
    if score is None:
        raise ResultNotFound(
            f"job {job_id} is not queued and has no result: it never existed, its result expired, or its "
            "job keeps no result (keep_result=0)."
        )
    if deadline is not None and time.monotonic() >= deadline:
        raise JobResultTimeout(f"job {job_id} did not finish within {timeout} s")
    return False


def _scored(info: JobRecord, score: float | None, job_id: str) -> JobRecord:
    """``info`` with its queue score (``None`` once it left the queue) and its id."""
    return replace(info, score=None if score is None else int(score), job_id=info.job_id or job_id)


@dataclass(frozen=True)
class JobHandle:
    """A reference to one enqueued job; cheap to create from an id (``JobHandle(job_id)``)."""

    job_id: str
    queue_name: str = ""
    """The job's queue; empty means ``ARQ_DJANGO['QUEUE']``."""
    function: str | None = None

    def __post_init__(self) -> None:
        if not self.queue_name:
            object.__setattr__(self, "queue_name", get_config().queue)

    # -- sync ---------------------------------------------------------------------------------------
    def status(self) -> JobState:
        """``deferred``, ``queued``, ``in_progress``, ``retrying``, ``complete``, ``failed``, ``aborted``
        or ``not_found``: what the job's mirror row says once it is written."""
        result_key, in_progress_key, retry_key = _status_keys(self.job_id)
        with _reading(self.job_id), sync_client(queue=self.queue_name).pipeline(transaction=True) as tr:
            tr.get(result_key)
            tr.exists(in_progress_key)
            tr.zscore(self.queue_name, self.job_id)
            tr.exists(retry_key)
            return _state(*tr.execute())

    def result_info(self) -> FinishedJob | None:
        """The job's result record once a try finished it, else ``None``."""
        with _reading(self.job_id):
            raw = cast(bytes | None, sync_client(queue=self.queue_name).get(result_key_prefix + self.job_id))
        return decode_result(raw, get_serializer().loads) if raw else None

    def info(self) -> JobRecord | None:
        """The job record, or its result record once finished; ``None`` when neither exists."""
        info: JobRecord | None = self.result_info()
        client = sync_client(queue=self.queue_name)
        with _reading(self.job_id):
            if info is None:
                raw = cast(bytes | None, client.get(job_key_prefix + self.job_id))
                if raw:
                    info = decode_job(raw, get_serializer().loads)
            if info is not None:
                score = cast(float | None, client.zscore(self.queue_name, self.job_id))
                info = _scored(info, score, self.job_id)
        return info

    def result(self, timeout: float | None = None, *, poll_interval: float = POLL_INTERVAL) -> Any:
        """Wait for the job's result; re-raises its failure as :class:`JobFailed` (JSON) or the original
        exception (pickle). Raises :class:`JobResultTimeout` after ``timeout`` seconds and
        :class:`ResultNotFound` when the job is neither queued nor finished."""
        deadline = None if timeout is None else time.monotonic() + timeout
        client = sync_client(queue=self.queue_name)
        while True:
            with _reading(self.job_id), client.pipeline(transaction=True) as tr:
                tr.get(result_key_prefix + self.job_id)
                tr.zscore(self.queue_name, self.job_id)
                raw, score = tr.execute()
            if _settled(self.job_id, raw, score, deadline, timeout):
                return _outcome(decode_result(raw, get_serializer().loads))
            time.sleep(poll_interval)

    def abort(self, *, wait: float | None = None) -> bool:
        """Abort this job (see :func:`arq_django.client.abort.abort`): a queued one never runs, a running
        one is cancelled. ``True`` when an abort was requested (with ``wait``: when it ended aborted)."""
        with _reading(self.job_id):
            return abort(self.job_id, self.queue_name, wait=wait)

    def progress(self) -> Progress | None:
        """The progress the job last reported (``ctx["progress"]``), or ``None``."""
        with _reading(self.job_id):
            return read_progress(self.job_id, self.queue_name)

    # -- async --------------------------------------------------------------------------------------

    async def astatus(self) -> JobState:
        """Async twin of :meth:`status`."""
        result_key, in_progress_key, retry_key = _status_keys(self.job_id)
        with _reading(self.job_id):
            async with async_pool(queue=self.queue_name).pipeline(transaction=True) as tr:
                tr.get(result_key)
                tr.exists(in_progress_key)
                tr.zscore(self.queue_name, self.job_id)
                tr.exists(retry_key)
                return _state(*await tr.execute())

    async def ainfo(self) -> JobRecord | None:
        """Async twin of :meth:`info`."""
        pool = async_pool(queue=self.queue_name)
        with _reading(self.job_id):
            info: JobRecord | None = await self._aresult_info(pool)
            if info is None:
                raw = await pool.get(job_key_prefix + self.job_id)
                if raw:
                    info = decode_job(raw, get_serializer().loads)
            if info is not None:
                info = _scored(info, await pool.zscore(self.queue_name, self.job_id), self.job_id)
        return info

    async def _aresult_info(self, pool: AsyncRedis) -> FinishedJob | None:
        raw = await pool.get(result_key_prefix + self.job_id)
        return decode_result(raw, get_serializer().loads) if raw else None

    async def aresult_info(self) -> FinishedJob | None:
        """Async twin of :meth:`result_info`."""
        with _reading(self.job_id):
            return await self._aresult_info(async_pool(queue=self.queue_name))

    async def aabort(self, *, wait: float | None = None) -> bool:
        """Async twin of :meth:`abort`."""
        with _reading(self.job_id):
            return await aabort(self.job_id, self.queue_name, wait=wait)

    async def aresult(self, timeout: float | None = None, *, poll_interval: float = POLL_INTERVAL) -> Any:
        """Async twin of :meth:`result`."""
        deadline = None if timeout is None else time.monotonic() + timeout
        pool = async_pool(queue=self.queue_name)
        while True:
            with _reading(self.job_id):
                async with pool.pipeline(transaction=True) as tr:
                    tr.get(result_key_prefix + self.job_id)
                    tr.zscore(self.queue_name, self.job_id)
                    raw, score = await tr.execute()
            if _settled(self.job_id, raw, score, deadline, timeout):
                return _outcome(decode_result(raw, get_serializer().loads))
            await asyncio.sleep(poll_interval)

    async def aprogress(self) -> Progress | None:
        with _reading(self.job_id):
            return await aread_progress(self.job_id, async_pool(queue=self.queue_name))
