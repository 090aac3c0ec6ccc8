"""Every Redis key arq_django owns, in one place (as arq's ``arq.constants`` is for arq's own keys).

arq's own keys come first: they are the wire format every arq worker and producer shares, defined here
(not imported from ``arq.constants``, so producers run without the ``arq`` package; a test asserts they
equal arq's). A producer in another language writes arq's keys (``arq:job:<id>``, the queue's sorted
set) plus, to wake an idle worker at once, :func:`wake_key`. Everything below is ours;
every name starts with ``arq_django:`` except a list source's keys, which start with the source's name so
they sort beside it (:class:`SourceKeys`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = [
    "CLAIM_PREFIX",
    "HISTORY_PREFIX",
    "PROGRESS_PREFIX",
    "RECONCILE_LOCK",
    "RETRIED_PREFIX",
    "STATS_PREFIX",
    "UNIQUE_MARKER_PREFIX",
    "WAKE_CAP",
    "WAKE_PREFIX",
    "WOKEN_PREFIX",
    "WORKER_PREFIX",
    "SourceKeys",
    "abort_jobs_ss",
    "default_queue_name",
    "health_check_key_suffix",
    "history_key",
    "in_progress_key_prefix",
    "job_key_prefix",
    "marker_key",
    "minute_key",
    "progress_key",
    "result_key_prefix",
    "retry_key_prefix",
    "stats_key",
    "wake_key",
    "woken_key",
]

# -- arq's keys (arq.constants) ---------------------------------------------------------------------
default_queue_name: Final = "arq:queue"
"""The default queue: a sorted set of job ids scored by run-at epoch ms."""
job_key_prefix: Final = "arq:job:"
"""``<prefix><job_id>``: the job record (:mod:`arq_django.client.wire`), with a TTL."""
in_progress_key_prefix: Final = "arq:in-progress:"
"""``<prefix><job_id>``: held by the worker running the job."""
result_key_prefix: Final = "arq:result:"
"""``<prefix><job_id>``: the result record of the job's last try."""
retry_key_prefix: Final = "arq:retry:"
"""``<prefix><job_id>``: the number of tries started (dropped when the job finishes)."""
abort_jobs_ss: Final = "arq:abort"
"""Sorted set of job ids to abort, scored by request time in ms."""
health_check_key_suffix: Final = ":health-check"
"""``<queue><suffix>``: the worker's health-check line."""

# -- ours --------------------------------------------------------------------------------------------
WAKE_PREFIX: Final = "arq_django:wake:"
"""``<prefix><queue>``: a short list; one token per enqueue (the producer's clock, epoch ms) wakes an idle
worker's blocking read."""
WAKE_CAP: Final = 16
"""Most tokens a queue's wake list holds; each extra one only costs an idle worker one empty claim."""
WOKEN_PREFIX: Final = "arq_django:woken:"
"""``<prefix><queue>:<claimer>``: where a worker's blocking read moves the wake token it took, for the claim
script queued behind it to find (and delete) in the same round trip."""
CLAIM_PREFIX: Final = "arq_django:claim:"
"""``<prefix><job_id>``: the token of the worker that claimed a job (sync-job overrun fencing)."""
HISTORY_PREFIX: Final = "arq_django:history:"
"""``<prefix><queue>``: sorted set of the queue's finished job ids that keep a result, by finish ms."""
STATS_PREFIX: Final = "arq_django:stats:"
"""``<prefix><queue>`` (totals) and ``<prefix><queue>:m:<minute>`` (recent outcomes): job outcome figures."""
WORKER_PREFIX: Final = "arq_django:worker:"
"""``<prefix><host>:<pid>:<start_ms>``: one live worker's heartbeat (JSON, with a TTL)."""
PROGRESS_PREFIX: Final = "arq_django:progress:"
"""``<prefix><job_id>``: the last progress a running job reported."""
UNIQUE_MARKER_PREFIX: Final = "arq_django:unique:"
"""``<prefix><job_id>``: held while a ``unique`` job is queued or running."""
RETRIED_PREFIX: Final = "arq_django:retried:"
"""``<prefix><job_id>``: the id of the job that retried it (an ops retry is done once)."""
RECONCILE_LOCK: Final = "arq_django:mirror:reconcile"
"""Held by the one process reconciling the result mirror with Redis."""


def wake_key(queue_name: str) -> str:
    """The wake list of ``queue_name``."""
    return WAKE_PREFIX + queue_name


def woken_key(queue_name: str, claimer: str) -> str:
    """The list one claimer's blocking read on ``queue_name``'s wake list moves its token to."""
    return f"{WOKEN_PREFIX}{queue_name}:{claimer}"


def history_key(queue_name: str) -> str:
    """``arq_django:history:<queue>``: ids of the queue's finished jobs that keep a result, by finish ms."""
    return HISTORY_PREFIX + queue_name


def stats_key(queue: str) -> str:
    """The running totals of ``queue``'s job outcomes and durations."""
    return STATS_PREFIX + queue


def minute_key(queue: str, minute: int) -> str:
    """The outcomes of ``queue``'s jobs that ended in one minute (``time // 60``)."""
    return f"{STATS_PREFIX}{queue}:m:{minute}"


def progress_key(job_id: str) -> str:
    """The progress a running job last reported."""
    return PROGRESS_PREFIX + job_id


def marker_key(job_id: str) -> str:
    """The marker that keeps a second copy of a ``unique`` job out."""
    return UNIQUE_MARKER_PREFIX + job_id


@dataclass(frozen=True)
class SourceKeys:
    """Key names derived from the producers' list; all start with ``<source>:`` so they sort together."""

    source: str
    """The list producers LPUSH onto (``async_tasks``)."""

    @property
    def dead(self) -> str:
        """Messages that could not become jobs, newest first, each a JSON dead-letter entry."""
        return f"{self.source}:dead"

    @property
    def consumers(self) -> str:
        """Set of the ingesters that have (or had) a processing list for this source."""
        return f"{self.source}:consumers"

    def processing(self, consumer: str) -> str:
        """One ingester's claimed messages: moved here atomically, removed once committed."""
        return f"{self.source}:processing:{consumer}"

    def heartbeat(self, consumer: str) -> str:
        """Exists (with a TTL of ``LIST_LEASE``) while the ingester is alive."""
        return f"{self.source}:consumer:{consumer}"

    @property
    def down(self) -> str:
        """Hash of the workers whose in-worker ingester crashed and waits to restart
        (:mod:`arq_django.ingest.supervise`)."""
        return f"{self.source}:down"
