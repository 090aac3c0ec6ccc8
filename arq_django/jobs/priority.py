"""Job priority, implemented inside arq's queue: a job's score (its run-at time) is shifted by priority.

arq keeps a queue as one sorted set scored by run-at time in epoch milliseconds, and a worker takes the
lowest scores that are ``<= now``. A job with priority ``p`` is written with the score
``run_at - p * PRIORITY_STEP``, so plain arq workers read the same meaning. What that guarantees:

- Among jobs due at the same moment, higher priority runs first.
- One priority step is worth ``PRIORITY_STEP`` (default 0.1 s) of waiting: job A runs before job B
  when ``due_A - p_A * step < due_B - p_B * step``. A priority-10 job overtakes priority-0 jobs
  that have been ready for less than 1 s; ``p = 100`` against ``p = -100`` spans 20 s.
- A job with ``p > 0`` may start up to ``p * step`` before its due time (matters for deferred jobs);
  one with ``p < 0`` waits ``|p| * step`` even on an idle queue.
- Priority 0 is exactly arq's score, so jobs from plain arq producers, cron ticks and ``Retry``
  re-queues (arq computes that score) all sort as priority 0.
- It does not reorder a backlog older than the priority difference allows: strict priority across
  any age needs separate queues.
"""

from __future__ import annotations

from typing import Any

MIN_PRIORITY = -100
MAX_PRIORITY = 100
DEFAULT_PRIORITY = 0


def check_priority(value: Any, where: str) -> int:
    """``value`` as a priority; ``ValueError`` unless it is a whole number in -100..100."""
    if isinstance(value, bool) or not isinstance(value, int) or not MIN_PRIORITY <= value <= MAX_PRIORITY:
        raise ValueError(
            f"{where}: priority must be a whole number from {MIN_PRIORITY} to {MAX_PRIORITY} "
            f"(higher runs first), got {value!r}."
        )
    return value


def shift_ms(priority: int, step_s: float) -> int:
    """How many milliseconds earlier than its run-at time a job with ``priority`` is scored."""
    return round(priority * step_s * 1000)
