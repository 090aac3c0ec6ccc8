"""The peer bench's task: returns when it started, so drains and latencies read the same way from every
backend's results."""

from __future__ import annotations

import time

try:
    from django.tasks import task  # type: ignore[attr-defined,unused-ignore]
except ImportError:
    from django_tasks import task  # type: ignore[no-redef,unused-ignore]


@task
def stamp(i: int) -> float:
    """The epoch time this run started."""
    return time.time()
