"""Jobs that end before their handler runs (expired, undecodable, unknown function, aborted before
start, out of tries): failed as arq fails them, and reported to the worker's listeners like any end."""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from arq.jobs import serialize_result
from arq.utils import ms_to_datetime, timestamp_ms

from arq_django.worker.events import Outcome
from arq_django.worker.extensions.chain import Extensions
from arq_django.worker.outcome import TryOutcome, describe, job_end


class FailingWorker(Protocol):
    """What an early failure needs of :class:`arq_django.worker.execute.Worker` (a protocol, so this
    module does not import the worker that imports it)."""

    jobs_failed: int
    max_tries: int
    queue_name: str
    name: str
    extensions: Extensions

    @property
    def job_serializer(self) -> Any: ...

    async def finish_failed_job(self, job_id: str, result_data: bytes | None) -> None: ...


def _with_detail(error: str, detail: str) -> str:
    return f"{error} ({detail})" if detail else error


class EarlyFailure:
    """Fails a job that cannot start (expired, undecodable, unknown, aborted, out of tries), like arq,
    and reports it with whatever is known of the job."""

    def __init__(self, worker: FailingWorker, job_id: str, job_try: int, start_ms: int) -> None:
        self.worker = worker
        self.job_id = job_id
        self.job_try = job_try
        self.start_ms = start_ms
        self.max_tries = worker.max_tries
        self.function = "<unknown>"
        self.args: tuple[Any, ...] = ()
        self.kwargs: dict[str, Any] = {}
        self.enqueue_time_ms = 0

    def describe_job(self, function: Any, args: Any, kwargs: Any, enqueue_time_ms: Any) -> None:
        self.function = function if isinstance(function, str) else repr(function)
        self.args = tuple(args) if isinstance(args, (list, tuple)) else (args,)
        self.kwargs = kwargs if isinstance(kwargs, dict) else {"_": kwargs}
        self.enqueue_time_ms = enqueue_time_ms if isinstance(enqueue_time_ms, int) else 0

    async def fail(self, exc: BaseException, outcome: Outcome = Outcome.FAILED, detail: str = "") -> None:
        """Store ``exc`` as the job's result, exactly as arq would (plain arq callers match on its class
        and message), and report it with ``detail``, the clearer reason, appended."""
        worker = self.worker
        worker.jobs_failed += 1
        finished_ms = timestamp_ms()
        result_data = serialize_result(
            function=self.function,
            args=self.args,
            kwargs=self.kwargs,
            job_try=self.job_try,
            enqueue_time_ms=self.enqueue_time_ms,
            success=False,
            result=exc,
            start_ms=self.start_ms,
            finished_ms=finished_ms,
            ref=f"{self.job_id}:{self.function}",
            serializer=worker.job_serializer,
            queue_name=worker.queue_name,
            job_id=self.job_id,
        )
        await asyncio.shield(worker.finish_failed_job(self.job_id, result_data))
        error = "aborted" if outcome is Outcome.ABORTED else _with_detail(describe(exc), detail)
        ended = TryOutcome(outcome, finish=True, result=exc, error=error, exception=exc)
        worker.extensions.job_ended(
            job_end(
                job_id=self.job_id,
                function=self.function,
                queue_name=worker.queue_name,
                args=self.args,
                kwargs=self.kwargs,
                job_try=self.job_try,
                max_tries=self.max_tries,
                enqueue_time=ms_to_datetime(self.enqueue_time_ms) if self.enqueue_time_ms else None,
                started_at=ms_to_datetime(self.start_ms),
                finished_at=ms_to_datetime(finished_ms),
                worker=worker.name,
                ended=ended,
            ),
        )
