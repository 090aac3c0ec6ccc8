"""The enqueue-time rows written outside a transaction: buffered in the process, written in batches.

``enqueue()`` outside ``atomic()`` used to commit one row per call, which cost more than the enqueue
itself. Now the row goes into this buffer and a daemon thread writes everything buffered in one
statement and one commit (:func:`arq_django.mirror.writer.upsert`: a row never goes backwards, so a
later state the worker already wrote wins) about every :data:`FLUSH_INTERVAL` seconds. The buffer is
also written at the end of each request (``request_finished``), at interpreter exit, and by
:func:`flush` (tests, management commands, scripts that want the rows now).

A row lost from the buffer (the process killed before its batch was written) is not lost for good:
the worker writes the row when the job starts, as it does with ``MIRROR_ON_ENQUEUE`` off. A batch the
database will not take yet (SQLite locked by another writer, PostgreSQL restarting) is retried for up
to :data:`RETRY_FOR` seconds, then given up with an error naming its jobs.

The thread opens its own database connection and closes it whenever it has written everything it
held, so no connection outlives a burst of enqueues (nor blocks dropping a test database).
A forked child starts with an empty buffer and no thread (its parent still owns the rows it had).
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from typing import Any, Final

from django.core.signals import request_finished
from django.db import InterfaceError, OperationalError, connections

from arq_django.mirror.rows import RowUpdate, merge
from arq_django.mirror.writer import upsert

logger = logging.getLogger("arq_django.mirror")

FLUSH_INTERVAL: Final = 0.05
"""Seconds the thread gathers rows after the first one arrives, before writing them."""
BATCH_SIZE: Final = 2000
"""Most rows written in one statement; more wait for the next, at once."""
RETRY_FOR = 30.0
"""Seconds a batch is retried while the database refuses it (locked, down); then it is given up."""
WAIT_AT_EXIT: Final = 5.0
"""Longest the interpreter's exit waits for the buffer to be written."""
WAIT_AT_REQUEST_END: Final = 1.0
"""Longest the end of a request that enqueued jobs waits for their rows."""
TRANSIENT: Final = (OperationalError, InterfaceError)
"""Errors worth a retry: the database is locked, restarting or unreachable."""


class RowBuffer:
    """Rows waiting for the writer thread; thread-safe, one per process (:data:`rows`)."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._pending: list[RowUpdate] = []
        self._added = 0
        """Rows ever added; :meth:`flush` waits until :attr:`_done` reaches the count at its call."""
        self._done = 0
        """Rows ever taken care of: written, or given up with an error logged."""
        self._urgent = False
        self._thread: threading.Thread | None = None

    def add(self, row: RowUpdate) -> None:
        """Queue ``row`` for the next batch (starts the writer thread on first use)."""
        with self._lock:
            self._pending.append(row)
            self._added += 1
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="arq_django-enqueued-rows", daemon=True
                )
                self._thread.start()
            elif len(self._pending) == 1:
                self._changed.notify_all()

    @property
    def idle(self) -> bool:
        """Nothing waits to be written (read without the lock: a hint, for the request hook)."""
        return self._done >= self._added

    def flush(self, timeout: float | None = None) -> bool:
        """Have every row added so far written now; ``False`` if ``timeout`` seconds were not enough."""
        with self._lock:
            target = self._added
            if self._done >= target:
                return True
            self._urgent = True
            self._changed.notify_all()
            return self._changed.wait_for(lambda: self._done >= target, timeout)

    def _take(self) -> list[RowUpdate]:
        with self._lock:
            while not self._pending:
                self._changed.wait()
            if not self._urgent and len(self._pending) < BATCH_SIZE:
                self._changed.wait(FLUSH_INTERVAL)  # gather: only a flush() cuts this short
            self._urgent = False
            batch, self._pending = self._pending[:BATCH_SIZE], self._pending[BATCH_SIZE:]
            return batch

    def _run(self) -> None:
        while True:
            batch = self._take()
            try:
                write_batch(batch)
                if not self._pending:  # idle: hold no connection (this thread's only) between bursts
                    connections.close_all()
            except BaseException:  # never leave flush() waiters hanging, whatever happened
                logger.exception("result mirror: the enqueue-time row writer failed")
            with self._lock:
                self._done += len(batch)
                self._changed.notify_all()


def write_batch(batch: list[RowUpdate]) -> None:
    """Write ``batch`` (one statement, one commit), retrying transient errors; never raises."""
    unique: dict[str, RowUpdate] = {}
    for row in batch:
        old = unique.get(row.job_id)
        unique[row.job_id] = row if old is None else merge(old, row)
    deadline = time.monotonic() + RETRY_FOR
    delay = 0.0  # the first retry at once: a connection the server closed while idle reconnects
    warned = False
    while True:
        try:
            upsert(unique.values())
            if warned:
                logger.warning("result mirror: %d enqueue-time rows written after retrying", len(unique))
            return
        except TRANSIENT as e:
            connections.close_all()  # a broken connection is not reused
            if time.monotonic() + delay > deadline:
                _give_up(list(unique.values()), e)
                return
            if delay and not warned:
                logger.warning(
                    "result mirror: %d enqueue-time rows cannot be written yet (%s: %s); retrying for up "
                    "to %.0f s",
                    len(unique),
                    type(e).__name__,
                    e,
                    RETRY_FOR,
                )
                warned = True
            time.sleep(delay)
            delay = min(max(delay * 2, 0.05), 1.0)
        except Exception as e:
            _give_up(list(unique.values()), e)
            return


def _give_up(rows: list[RowUpdate], e: BaseException) -> None:
    for row in rows:
        logger.warning(
            "job %s (%s) is enqueued on %s, but its JobResult row was not created (%s: %s); the worker "
            "creates it when the job starts",
            row.job_id,
            row.function,
            row.queue_name,
            type(e).__name__,
            e,
        )


rows = RowBuffer()
"""The process's buffer."""
os.register_at_fork(after_in_child=rows._reset)


def flush(timeout: float | None = None) -> bool:
    """Write every enqueue-time row buffered in this process now, and wait for it (at most ``timeout``
    seconds; ``False`` if that was not enough). Rows written inside ``atomic()`` never wait here."""
    return rows.flush(timeout)


@atexit.register
def _at_exit() -> None:
    if not rows.idle and not rows.flush(WAIT_AT_EXIT):
        logger.error(
            "result mirror: exiting with enqueue-time rows unwritten after %.0f s; the worker creates "
            "them when their jobs start",
            WAIT_AT_EXIT,
        )


def _at_request_end(**kwargs: Any) -> None:
    if not rows.idle:
        rows.flush(WAIT_AT_REQUEST_END)


request_finished.connect(_at_request_end, dispatch_uid="arq_django.mirror.buffer")
