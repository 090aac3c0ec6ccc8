"""The whole system at a glance: queues, live workers and the last hour, for ``arq_status`` and the API."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from arq_django.connection import clients_for
from arq_django.ops.history import RecentCounts, recent_counts
from arq_django.ops.queues import QueueDepth, known_queues, queue_depths
from arq_django.ops.workers import read_workers, workers_per_queue
from arq_django.worker.heartbeat import WorkerBeat

WINDOW_S = 3600.0


@dataclass(frozen=True)
class QueueStatus:
    depth: QueueDepth
    workers: int
    recent: RecentCounts

    def as_dict(self) -> dict[str, Any]:
        return {
            "queue": self.depth.queue,
            **self.depth.as_dict(),
            "workers": self.workers,
            "last_hour": self.recent.as_dict(),
        }


@dataclass(frozen=True)
class Status:
    at: float
    """Epoch seconds when the figures were read."""
    queues: tuple[QueueStatus, ...]
    workers: tuple[WorkerBeat, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "queues": [q.as_dict() for q in self.queues],
            "workers": [w.as_dict() for w in self.workers],
        }


def read_status(queue: str | None = None) -> Status:
    """Every known queue (configured, or served by a live worker), or just ``queue``."""
    # Each Redis server holds its own queues' keys and its workers' heartbeats (QUEUES entries with a
    # REDIS_URL of their own): read every server, the default one first.
    everywhere = list(known_queues()) if queue is None else [queue]
    workers = [w for client, _ in clients_for(everywhere) for w in read_workers(client)]
    if queue is not None:
        workers = [w for w in workers if w.queue == queue]
    queues = [queue] if queue is not None else known_queues(*(w.queue for w in workers))
    by_queue = {
        d.queue: d for client, held in clients_for(queues) if held for d in queue_depths(client, held)
    }
    depths = [by_queue[q] for q in queues]
    recent = recent_counts(queues, WINDOW_S)
    per_queue = workers_per_queue(workers)
    return Status(
        at=time.time(),
        queues=tuple(QueueStatus(d, per_queue.get(d.queue, 0), recent[d.queue]) for d in depths),
        workers=tuple(workers),
    )
