"""Sync jobs past their timeout: a thread cannot be interrupted, so the job is failed (``TimeoutError``)
but its thread runs on, holding one of ``SYNC_THREADS`` and whatever it holds (a database connection,
locks, memory).

:class:`Overruns` counts those threads while they run. With ``ARQ_DJANGO['SYNC_OVERRUN_LIMIT'] = N``,
the N-th one still running stops the worker as SIGTERM would (no new jobs, running ones get
``JOB_COMPLETION_WAIT``); a worker that owns its process then ends it with exit status
:data:`EXIT_STATUS` once its shutdown is done, without waiting for those threads, so the supervisor
(systemd, Kubernetes, supervisord) starts a fresh worker. Without a limit, a worker still leaves at
shutdown without waiting for them.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from concurrent.futures import Future
from typing import Any

logger = logging.getLogger("arq_django.worker")

EXIT_STATUS = 3
"""Exit status of a worker that ended itself over overrunning threads (not 0: ``Restart=on-failure``)."""


class Overruns:
    """The sync-job threads of one worker that outlived their job; stops the worker at ``limit``."""

    def __init__(self, worker: Any, limit: int | None) -> None:
        self.worker = worker
        self.limit = limit
        self.running: set[str] = set()
        """Job ids whose thread is still running past the job's end."""
        self.stopping = False
        self._loop = asyncio.get_running_loop()

    def overran(self, job_id: str, thread_done: Future[Any]) -> None:
        """The job ``job_id`` ended (timed out, aborted or cancelled) while its thread still runs."""
        self.running.add(job_id)
        thread_done.add_done_callback(lambda _: self._loop.call_soon_threadsafe(self.running.discard, job_id))
        logger.warning(
            "sync job %s ended but its thread still runs (a thread cannot be interrupted); %d such "
            "thread(s) now%s",
            job_id,
            len(self.running),
            f", the worker stops at {self.limit}" if self.limit else "",
        )
        if self.limit and len(self.running) >= self.limit and not self.stopping:
            self.stopping = True
            logger.error(
                "%d sync job threads are past their timeout (SYNC_OVERRUN_LIMIT): stopping this worker "
                "so that its supervisor starts a fresh one",
                len(self.running),
            )
            # arq's own SIGTERM handling: with JOB_COMPLETION_WAIT, running jobs may finish first.
            graceful = getattr(self.worker, "_job_completion_wait", 0)
            stop = self.worker.handle_sig_wait_for_completion if graceful else self.worker.handle_sig
            stop(signal.SIGTERM)

    def exit_if_stuck(self) -> None:
        """At the end of shutdown: leave now if overrunning threads remain (Python would wait for them
        at exit), in a worker that owns its process."""
        if not self.running or not self.worker._handle_signals:
            return
        logger.error(
            "exiting with %d sync job thread(s) still running past their timeout (jobs %s)",
            len(self.running),
            ", ".join(sorted(self.running)),
        )
        logging.shutdown()
        os._exit(EXIT_STATUS)
