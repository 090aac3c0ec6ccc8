"""``JobHandle``: what ``enqueue()`` returns; reads arq's job, in-progress and result records."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, cast

from arq.constants import in_progress_key_prefix, job_key_prefix, result_key_prefix
from arq.jobs import Job, JobDef, JobResult, JobStatus, deserialize_job, deserialize_result
from arq.jobs import ResultNotFound as ArqResultNotFound
from arq.utils import timestamp_ms

from .abort import aabort, abort
from .conf import get_config
from .connection import async_pool, sync_client
from .exceptions import JobFailed, JobResultTimeout, ResultNotFound
from .progress import Progress
from .progress import aread as aread_progress
from .progress import read as read_progress
from .serializers import get_serializer

POLL_INTERVAL = 0.05


def _outcome(info: JobResult) -> Any:
    if info.success:
        return info.result
    if isinstance(info.result, BaseException):
        raise info.result
    raise JobFailed("SerializationError", str(info.result))


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
    def status(self) -> JobStatus:
        """arq's status: ``deferred``, ``queued``, ``in_progress``, ``complete`` or ``not_found``."""
        with sync_client().pipeline(transaction=True) as tr:
            tr.exists(result_key_prefix + self.job_id)
            tr.exists(in_progress_key_prefix + self.job_id)
            tr.zscore(self.queue_name, self.job_id)
            is_complete, is_in_progress, score = tr.execute()
        if is_complete:
            return JobStatus.complete
        if is_in_progress:
            return JobStatus.in_progress
        if score:
            return JobStatus.deferred if score > timestamp_ms() else JobStatus.queued
        return JobStatus.not_found

    def result_info(self) -> JobResult | None:
        raw = cast(bytes | None, sync_client().get(result_key_prefix + self.job_id))
        return deserialize_result(raw, deserializer=get_serializer().loads) if raw else None

    def info(self) -> JobDef | None:
        """The job record, or its result record once finished; ``None`` when neither exists."""
        info: JobDef | None = self.result_info()
        client = sync_client()
        if info is None:
            raw = cast(bytes | None, client.get(job_key_prefix + self.job_id))
            if raw:
                info = deserialize_job(raw, deserializer=get_serializer().loads)
        if info is not None:
            score = cast(float | None, client.zscore(self.queue_name, self.job_id))
            info.score = None if score is None else int(score)
        return info

    def result(self, timeout: float | None = None, *, poll_interval: float = POLL_INTERVAL) -> Any:
        """Wait for the job's result; re-raises its failure as :class:`JobFailed` (JSON) or the original
        exception (pickle). Raises :class:`JobResultTimeout` after ``timeout`` seconds and
        :class:`ResultNotFound` when the job is neither queued nor finished."""
        deadline = None if timeout is None else time.monotonic() + timeout
        client = sync_client()
        while True:
            with client.pipeline(transaction=True) as tr:
                tr.get(result_key_prefix + self.job_id)
                tr.zscore(self.queue_name, self.job_id)
                raw, score = tr.execute()
            if raw:
                return _outcome(deserialize_result(raw, deserializer=get_serializer().loads))
            if score is None:
                raise ResultNotFound(
                    f"job {self.job_id} is not queued and has no result: it never existed, its result "
                    "expired, or its job keeps no result (keep_result=0)."
                )
            if deadline is not None and time.monotonic() >= deadline:
                raise JobResultTimeout(f"job {self.job_id} did not finish within {timeout} s")
            time.sleep(poll_interval)

    def abort(self, *, wait: float | None = None) -> bool:
        """Abort this job (see :func:`arq_django.abort.abort`): a queued one never runs, a running
        one is cancelled. ``True`` when an abort was requested (with ``wait``: when it ended aborted)."""
        return abort(self.job_id, self.queue_name, wait=wait)

    def progress(self) -> Progress | None:
        """The progress the job last reported (``ctx["progress"]``), or ``None``."""
        return read_progress(self.job_id)

    # -- async --------------------------------------------------------------------------------------
    def _arq_job(self) -> Job:
        return Job(self.job_id, async_pool(), self.queue_name, get_serializer().loads)

    async def astatus(self) -> JobStatus:
        return await self._arq_job().status()

    async def ainfo(self) -> JobDef | None:
        return await self._arq_job().info()

    async def aresult_info(self) -> JobResult | None:
        return await self._arq_job().result_info()

    async def aabort(self, *, wait: float | None = None) -> bool:
        """Async twin of :meth:`abort`."""
        return await aabort(self.job_id, self.queue_name, wait=wait)

    async def aresult(self, timeout: float | None = None, *, poll_interval: float = POLL_INTERVAL) -> Any:
        """Async twin of :meth:`result`."""
        try:
            return await self._arq_job().result(timeout=timeout, poll_delay=poll_interval)
        except ArqResultNotFound as e:
            raise ResultNotFound(str(e)) from e
        except TimeoutError as e:
            raise JobResultTimeout(f"job {self.job_id} did not finish within {timeout} s") from e

    async def aprogress(self) -> Progress | None:
        return await aread_progress(self.job_id, async_pool())
