"""The thread pool sync handlers run in (``ARQ_DJANGO['SYNC_THREADS']``), owned by one worker.

:func:`arq_django.jobs.handlers.to_function` binds a sync handler to the worker's :class:`SyncThreads`
when the worker's functions are built, so a handler finds its pool through a typed reference, not a
``ctx`` key. A thread that outlives its job (timed out, aborted) is counted by
:class:`~arq_django.worker.overruns.Overruns`, which may stop the worker (``SYNC_OVERRUN_LIMIT``).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from arq_django.worker.extensions.base import WorkerExtension, WorkerHost
from arq_django.worker.overruns import Overruns

T = TypeVar("T")

_current = threading.local()


class _Flag:
    """Set once by the event loop, read by the job's thread: a plain attribute (nobody waits on it, so
    no ``threading.Event``, whose lock and condition cost every sync job)."""

    __slots__ = ("raised",)

    def __init__(self) -> None:
        self.raised = False


def abandoned() -> bool | None:
    """In a thread running a sync job for :meth:`SyncThreads.run`: whether the worker has already ended
    that job (its timeout, an abort, a shutdown) while the thread runs on. ``None`` anywhere else."""
    flag: _Flag | None = getattr(_current, "abandoned", None)
    return None if flag is None else flag.raised


def _in_thread(flag: _Flag, fn: Callable[..., T], *args: Any) -> T:
    _current.abandoned = flag
    try:
        return fn(*args)
    finally:
        _current.abandoned = None


class SyncThreads(WorkerExtension):
    """A pool of ``size`` threads (default: the worker's ``max_jobs``), open while its worker runs.

    Until it is open (a worker polled without ``main()``, as arq's own tests do) handlers run in the
    event loop's default executor.
    """

    def __init__(
        self, size: int | None = None, overrun_limit: int | None = None, *, prefix: str = "arq-django-sync"
    ) -> None:
        self.size = size
        self.overrun_limit = overrun_limit
        self.prefix = prefix
        self.executor: ThreadPoolExecutor | None = None
        self.overruns: Overruns | None = None
        self._users = 0

    def open(self, size: int) -> None:
        """Open the pool (``size`` threads unless the pool has its own size). Workers built from one
        settings class (arq's ``--watch`` reloads) share its functions, hence their pool: it stays
        open until the last of them closes it."""
        self._users += 1
        if self.executor is None:
            self.executor = ThreadPoolExecutor(self.size or size, thread_name_prefix=self.prefix)

    def close(self, *, wait: bool = False) -> None:
        """Shut the pool once its last user closes it, cancelling what has not started; ``wait`` for
        the running threads."""
        self._users = max(self._users - 1, 0)
        executor = self.executor
        if executor is not None and not self._users:
            self.executor = None
            executor.shutdown(wait=wait, cancel_futures=True)

    async def on_start(self, worker: WorkerHost) -> None:
        self.open(worker.max_jobs)
        self.overruns = Overruns(worker, self.overrun_limit)

    async def on_stop(self, worker: WorkerHost) -> None:
        # Threads past their job's timeout may never end: waiting for them would hang the shutdown.
        self.close(wait=not (self.overruns and self.overruns.running))

    def exit_if_stuck(self) -> None:
        """At the very end of the worker's shutdown: see :meth:`Overruns.exit_if_stuck`."""
        if self.overruns is not None:
            self.overruns.exit_if_stuck()

    async def run(self, job_id: str, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in a pool thread; when the job is cancelled meanwhile (timeout, abort, shutdown)
        the thread runs on, is counted, and sees :func:`abandoned` return ``True``."""
        flag = _Flag()
        executor = self.executor
        thread = None if executor is None else executor.submit(_in_thread, flag, fn, *args)
        try:
            if thread is None:
                return await asyncio.get_running_loop().run_in_executor(None, _in_thread, flag, fn, *args)
            return await asyncio.wrap_future(thread)
        except asyncio.CancelledError:
            flag.raised = True
            if thread is not None and not thread.cancel() and self.overruns is not None:
                self.overruns.overran(job_id, thread)
            raise
