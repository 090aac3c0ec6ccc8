"""Django signals for job lifecycle events, sent by the worker.

- ``job_started``: a try began. Keyword arguments: ``job_id``, ``function``, ``args``, ``kwargs``,
  ``job_try``, ``queue_name``, ``event`` (the :class:`~arq_django.worker.events.JobStart`).
- ``job_finished``: a try ended, whatever the outcome; adds ``outcome`` (``complete``, ``failed``,
  ``retrying``, ``aborted``), ``result``, ``error`` and ``event`` (the
  :class:`~arq_django.worker.events.JobEnd`).
- ``job_failed``: the job failed for good (no try left, or an exception it does not retry); adds
  ``exception`` (the exception object in the worker), ``error`` and ``traceback``.

The sender is the job's handler function (Django matches senders by identity), so
``job_failed.connect(receiver, sender=send_email)`` listens to one job; a job no worker knows (unknown
function) has its name as sender.
Receivers run in the worker process, after the event, in order, off the job's path: async receivers
on the worker's loop, sync ones through ``sync_to_async`` (they may use the ORM). A receiver that
raises is logged and changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from django.dispatch import Signal

from arq_django.exceptions import JobNotRegistered
from arq_django.jobs.registry import registry
from arq_django.worker.events import JobEnd, JobStart, Outcome
from arq_django.worker.extensions.base import WorkerExtension, WorkerHost

logger = logging.getLogger("arq_django.signals")

job_started = Signal()
job_finished = Signal()
job_failed = Signal()

_Delivery = tuple[Signal, Any, dict[str, Any]]


def _sender(function: str) -> Any:
    try:
        return registry.get(function).func
    except JobNotRegistered:
        return function


class SignalSender(WorkerExtension):
    """A worker extension that sends the signals above, from one queue so their order is kept."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[_Delivery | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def job_started(self, event: JobStart) -> None:
        self._send(
            job_started,
            event.function,
            job_id=event.job_id,
            function=event.function,
            args=event.args,
            kwargs=event.kwargs,
            job_try=event.job_try,
            queue_name=event.queue_name,
            event=event,
        )

    def job_ended(self, event: JobEnd) -> None:
        common = {
            "job_id": event.job_id,
            "function": event.function,
            "args": event.args,
            "kwargs": event.kwargs,
            "job_try": event.job_try,
            "queue_name": event.queue_name,
            "error": event.error,
            "event": event,
        }
        self._send(job_finished, event.function, outcome=event.outcome, result=event.result, **common)
        if event.outcome is Outcome.FAILED:
            self._send(
                job_failed, event.function, exception=event.exception, traceback=event.traceback, **common
            )

    def _send(self, signal: Signal, job_name: str, /, **kwargs: Any) -> None:
        if not signal.receivers:  # the common case: nobody connected, so no sender to look up
            return
        sender = _sender(job_name)
        if not signal.has_listeners(sender):
            return
        self._queue.put_nowait((signal, sender, kwargs))
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._deliver())

    async def _deliver(self) -> None:
        while (item := await self._queue.get()) is not None:
            signal, sender, kwargs = item
            for receiver, response in await signal.asend_robust(sender, **kwargs):
                if isinstance(response, Exception):
                    logger.error(
                        "signal receiver %r for job %s (%s) raised %r",
                        receiver,
                        kwargs["job_id"],
                        kwargs["function"],
                        response,
                        exc_info=response,
                    )

    async def on_stop(self, worker: WorkerHost) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Deliver what is queued, then stop (the worker's shutdown calls it)."""
        if self._task is not None:
            self._queue.put_nowait(None)
            await self._task
            self._task = None
