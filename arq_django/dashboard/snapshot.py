"""One moment of the whole system for the dashboard: ``arq_status``'s figures plus charts' series."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from arq_django.conf import get_config
from arq_django.connection import clients_for
from arq_django.dashboard import counters, mirror
from arq_django.dashboard.series import Durations, Failure, Running, Source, Throughput
from arq_django.ops.status import Status, read_status
from arq_django.worker.heartbeat import WorkerBeat

HOUR, DAY = 3600, 24 * 3600
LOST_AFTER_BEATS = 2
"""A worker whose heartbeat is this many intervals old is shown as lost (its key lives three)."""


@dataclass(frozen=True)
class WorkerRow:
    beat: WorkerBeat
    beat_age: float
    lost: bool

    def as_dict(self) -> dict[str, Any]:
        return {**self.beat.as_dict(), "beat_age": round(self.beat_age, 1), "lost": self.lost}


@dataclass(frozen=True)
class Dashboard:
    status: Status
    """The same figures ``manage.py arq_status --json`` prints."""
    workers: tuple[WorkerRow, ...]
    source: Source
    hour: Throughput
    """Per minute over the last hour."""
    day: Throughput
    """Per hour over the last 24 h."""
    durations: tuple[Durations, ...]
    """Over the last hour (mirror) or since the counters began."""
    failures: tuple[Failure, ...]
    """Empty when the mirror is off: failures are rows."""
    running: tuple[Running, ...]
    """Rows running now, newest first (empty when the mirror is off)."""

    @property
    def at(self) -> datetime:
        return datetime.fromtimestamp(self.status.at, UTC)

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.status.as_dict(),
            "workers": [w.as_dict() for w in self.workers],
            "source": self.source,
            "throughput": {"hour": self.hour.as_dict(), "day": self.day.as_dict()},
            "durations": [d.as_dict() for d in self.durations],
            "failures": [f.as_dict() for f in self.failures],
            "running_jobs": [r.as_dict() for r in self.running],
        }


def read_dashboard() -> Dashboard:
    """Read Redis (queues, workers) and the mirror, or the counters when ``MIRROR`` is off."""
    status = read_status()
    now = datetime.fromtimestamp(status.at, UTC)
    lost_after = get_config().heartbeat_interval * LOST_AFTER_BEATS
    rows = tuple(
        WorkerRow(w, max(status.at - w.beat_at, 0.0), status.at - w.beat_at > lost_after)
        for w in status.workers
    )
    if get_config().mirror:
        return Dashboard(
            status,
            rows,
            "mirror",
            mirror.throughput(now, HOUR, 60),
            mirror.throughput(now, DAY, HOUR),
            tuple(mirror.durations(mirror.window_start(now, HOUR))),
            tuple(mirror.latest_failures()),
            tuple(mirror.running()),
        )
    servers = [(c, held) for c, held in clients_for([q.depth.queue for q in status.queues]) if held]
    return Dashboard(
        status,
        rows,
        "counters",
        counters.throughput(servers, now, HOUR, 60),
        counters.throughput(servers, now, DAY, HOUR),
        tuple(counters.durations(servers)),
        (),
        (),
    )
