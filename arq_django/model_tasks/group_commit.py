"""Task rows' writes on a SQLite file, committed in groups by one thread per database.

SQLite takes one writer at a time and a commit syncs the file. A worker runs sync rows in its thread
pool, and each row costs two writes of its own (the mark, the outcome): as separate transactions the
threads queue on the write lock, sleeping in SQLite's busy handler, and the drain pays a commit, a
sync, per write. Here such a write is a request handed to its database's writer thread, which runs
every request waiting in one transaction, commits once, and only then answers each request. If
anything in a batch fails, the batch is rolled back and each of its requests runs again in a
transaction of its own, so that one write that fails fails only its own caller. A lone request waits
for nothing: the thread takes what is there as soon as it is free, so requests group only while a
batch is being written. Measured on the ``bench.model_tasks`` drain of 2,000 rows on SQLite: 5.3-5.9 s
with each write its own transaction, 4.2-4.4 s grouped (with ``RETURNING`` in the mark).

:func:`write` decides per call: SQLite on a file, the calling thread outside ``atomic()``. A caller
inside a transaction (its write must ride on that transaction), an in-memory database or another vendor
(PostgreSQL commits concurrent transactions well itself) runs the write on its own connection.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar, cast

from django.db import connections, transaction

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.backends.sqlite3.base import DatabaseWrapper as SQLiteWrapper

logger = logging.getLogger("arq_django.model_tasks")

T = TypeVar("T")
Work = Callable[["BaseDatabaseWrapper"], T]
"""A write: statements run on the connection it is given; what it returns goes back to its caller."""

THREAD_PREFIX: Final = "arq_django-task-rows-"
"""The writer threads' names: this, then the database alias."""
IDLE_CLOSE_S: Final = 1.0
"""Seconds without a request after which a writer thread closes its connection (it reopens on demand)."""


@dataclass
class _Request(Generic[T]):
    work: Work[T]
    future: Future[T] = field(default_factory=Future)


class _Writer:
    """The writer thread of one database alias and the requests waiting for it."""

    def __init__(self, alias: str) -> None:
        self.alias = alias
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._pending: list[_Request[Any]] = []
        self._thread: threading.Thread | None = None

    def submit(self, work: Work[T]) -> T:
        request: _Request[T] = _Request(work)
        with self._lock:
            self._pending.append(request)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name=f"{THREAD_PREFIX}{self.alias}", daemon=True
                )
                self._thread.start()
            else:
                self._arrived.notify()
        return request.future.result()

    def _take(self) -> list[_Request[Any]]:
        """Everything waiting; ``[]`` after :data:`IDLE_CLOSE_S` without a request."""
        with self._lock:
            if not self._pending:
                self._arrived.wait(IDLE_CLOSE_S)
            batch, self._pending = self._pending, []
            return batch

    def _run(self) -> None:
        while True:
            batch = self._take()
            try:
                if batch:
                    _write_batch(self.alias, batch)
                else:
                    connections[self.alias].close()  # idle: hold no connection until the next request
            except BaseException as e:  # never leave a caller waiting, whatever happened
                logger.exception("task rows: the writer thread of database %r failed", self.alias)
                for request in batch:
                    if not request.future.done():
                        request.future.set_exception(e)


def _write_batch(alias: str, batch: list[_Request[Any]]) -> None:
    """One transaction for ``batch``; if anything in it fails, each request again in its own, so that
    one write that fails (or a commit refused) fails only its own caller."""
    connection = connections[alias]
    try:
        with transaction.atomic(using=alias):
            answers = [request.work(connection) for request in batch]
    except Exception as e:  # rolled back: nothing in the batch was written
        if connection.connection is not None and not connection.is_usable():
            connection.close()  # a broken connection is not reused
        if len(batch) == 1:
            batch[0].future.set_exception(e)
        else:
            for request in batch:
                _write_batch(alias, [request])
        return
    for request, answer in zip(batch, answers, strict=True):
        request.future.set_result(answer)


_writers: dict[str, _Writer] = {}
_writers_lock = threading.Lock()


def _reset() -> None:
    global _writers_lock
    _writers.clear()  # a forked child has none of its parent's threads
    _writers_lock = threading.Lock()


os.register_at_fork(after_in_child=_reset)


def grouped(connection: BaseDatabaseWrapper) -> bool:
    """Whether a write on ``connection`` (the calling thread's) goes through its database's writer."""
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        return False
    return not cast("SQLiteWrapper", connection).is_in_memory_db()


def write(alias: str, work: Work[T]) -> T:
    """Run ``work`` and return what it returns: committed in a group by ``alias``'s writer thread where
    :func:`grouped`, else on this thread's connection (autocommit, or the transaction it is in)."""
    connection = connections[alias]
    if not grouped(connection):
        return work(connection)
    with _writers_lock:
        writer = _writers.get(alias)
        if writer is None:
            writer = _writers[alias] = _Writer(alias)
    return writer.submit(work)
