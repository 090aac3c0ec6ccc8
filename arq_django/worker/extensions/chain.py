"""A worker's extensions at run time: built and started in order, stopped in reverse, and called for
every job through typed hooks (no ``getattr``, no ``ctx`` keys).

Only the hooks an extension overrides are called per job, so a built-in that needs no job event costs
nothing on the hot path.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from arq_django.worker.events import JobEnd, JobListener, JobStart
from arq_django.worker.extensions.base import ExtensionFactory, WorkerExtension, WorkerHost

logger = logging.getLogger("arq_django.worker")

E = TypeVar("E", bound=WorkerExtension)
T = TypeVar("T")
Event = TypeVar("Event", JobStart, JobEnd)
_Hooks = list[tuple[object, Callable[[T], None]]]
"""``(owner, bound hook)`` pairs: hand-added listeners first, then the running extensions in order."""


def _failed(owner: object, hook: str, job_id: str) -> None:
    """Log an extension's (or a hand-added listener's) error in a per-job hook; the job goes on."""
    label = owner.name if isinstance(owner, WorkerExtension) else repr(owner)
    logger.exception("worker extension %s failed in %s of job %s", label, hook, job_id)


class Extensions:
    """The extensions of one worker, in the order they start."""

    def __init__(self, factories: Sequence[ExtensionFactory] = ()) -> None:
        self.factories = tuple(factories)
        self.all: list[WorkerExtension] = []
        """Every extension built at the last start, in order (kept after the stop, for inspection)."""
        self.running: list[WorkerExtension] = []
        self.ready = False
        """Every extension has started and none has stopped yet."""
        self._contexts: list[tuple[object, Callable[[dict[str, Any], JobStart], None]]] = []
        self._started: _Hooks[JobStart] = []
        self._ended: _Hooks[JobEnd] = []
        self._hand_added = 0

    def get(self, kind: type[E]) -> E | None:
        """The running extension of class ``kind`` (or a subclass), if any."""
        for extension in self.running:
            if isinstance(extension, kind):
                return extension
        return None

    async def start(self, worker: WorkerHost, first: Sequence[WorkerExtension] = ()) -> None:
        """Build every extension (``first`` are built already), then start them in order; nothing when
        they run already (arq's own tests call ``main()`` twice)."""
        if self.ready:
            return
        self.all = [*first, *(factory() for factory in self.factories)]
        for extension in self.all:
            try:
                await extension.on_start(worker)
            except Exception:
                logger.exception("worker extension %s failed to start; the worker stops", extension.name)
                raise
            self.running.append(extension)
            self._subscribe(extension)
        self.ready = True
        if self.factories:
            logger.info("arq_django worker %s started on queue %s", worker.name, worker.queue_name)

    async def stop(self, worker: WorkerHost) -> None:
        """Stop the running extensions in reverse order; one that raises is logged, the rest still stop."""
        self.ready = False
        while self.running:
            extension = self.running.pop()
            self._unsubscribe(extension)
            try:
                await extension.on_stop(worker)
            except Exception:
                logger.exception("worker extension %s failed to stop", extension.name)
        if self.factories:
            logger.info("arq_django worker %s stopped", worker.name)

    # -- listeners added by hand (tests, embedding): job events only ---------------------------------
    def add_listener(self, listener: JobListener) -> None:
        """Call ``listener`` for every job event, before the extensions."""
        self._started.insert(self._hand_added, (listener, listener.job_started))
        self._ended.insert(self._hand_added, (listener, listener.job_ended))
        self._hand_added += 1

    def remove_listener(self, listener: JobListener) -> None:
        if any(owner is listener for owner, _ in self._started[: self._hand_added]):
            self._unsubscribe(listener)
            self._hand_added -= 1

    def _subscribe(self, extension: WorkerExtension) -> None:
        cls = type(extension)
        if cls.job_context is not WorkerExtension.job_context:
            self._contexts.append((extension, extension.job_context))
        if cls.job_started is not WorkerExtension.job_started:
            self._started.append((extension, extension.job_started))
        if cls.job_ended is not WorkerExtension.job_ended:
            self._ended.append((extension, extension.job_ended))

    def _unsubscribe(self, owner: object) -> None:
        self._contexts = [h for h in self._contexts if h[0] is not owner]
        self._started = [h for h in self._started if h[0] is not owner]
        self._ended = [h for h in self._ended if h[0] is not owner]

    # -- per job, on the event loop ------------------------------------------------------------------
    def job_context(self, ctx: dict[str, Any], job: JobStart) -> None:
        for owner, hook in self._contexts:
            try:
                hook(ctx, job)
            except Exception:
                _failed(owner, "job_context", job.job_id)

    def job_started(self, event: JobStart) -> None:
        _each(self._started, event, "job_started")

    def job_ended(self, event: JobEnd) -> None:
        _each(self._ended, event, "job_ended")


def _each(hooks: _Hooks[Event], event: Event, name: str) -> None:
    for owner, hook in hooks:
        try:
            hook(event)
        except Exception:
            _failed(owner, name, event.job_id)
