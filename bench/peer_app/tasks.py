"""The peer bench's tasks, one sync and one async: each appends ``i start end`` to a file, so drains
and latencies read the same way from every backend, including those that keep no results
(django-vtasks' Valkey backend)."""

from __future__ import annotations

import os
import time

try:
    from django.tasks import task  # type: ignore[attr-defined,unused-ignore]
except ImportError:
    from django_tasks import task  # type: ignore[no-redef,unused-ignore]


def _append(i: int) -> None:
    """One line per run; O_APPEND writes of a short line do not interleave."""
    started = time.time()
    line = f"{i} {started:.6f} {time.time():.6f}\n".encode()
    fd = os.open(os.environ["BENCH_STAMPS"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


@task
def stamp(i: int) -> None:
    _append(i)


@task
async def astamp(i: int) -> None:
    """:func:`stamp` as an async task (``bench.tasks_peers --task async``): run on the worker's loop."""
    _append(i)
