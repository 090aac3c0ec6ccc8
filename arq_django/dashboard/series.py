"""The dashboard's values: throughput buckets, duration percentiles and failures, as frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

Source = Literal["mirror", "counters"]


@dataclass(frozen=True)
class Bucket:
    """Job ends within one bucket of time; the three counts are disjoint."""

    start: datetime
    complete: int
    """Complete on the first try (mirror), or tries that completed (counters)."""
    failed: int
    """Failed or aborted."""
    retried: int
    """Complete after more than one try (mirror), or tries that ended in a retry (counters)."""

    @property
    def total(self) -> int:
        return self.complete + self.failed + self.retried

    def as_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "complete": self.complete,
            "failed": self.failed,
            "retried": self.retried,
        }


@dataclass(frozen=True)
class Throughput:
    """Job ends over a window, bucket by bucket, oldest first."""

    window_s: int
    bucket_s: int
    source: Source
    buckets: tuple[Bucket, ...]

    @property
    def total(self) -> int:
        return sum(b.total for b in self.buckets)

    @property
    def per_minute(self) -> float:
        return round(self.total / (self.window_s / 60), 2)

    def as_dict(self) -> dict[str, Any]:
        return {
            "window_s": self.window_s,
            "bucket_s": self.bucket_s,
            "source": self.source,
            "total": self.total,
            "per_minute": self.per_minute,
            "buckets": [b.as_dict() for b in self.buckets],
        }


@dataclass(frozen=True)
class Durations:
    """Run times of one function's complete jobs."""

    function: str
    count: int
    p50: float
    """Seconds; from the counters it is the upper bound of the histogram bucket holding the median."""
    p95: float

    def as_dict(self) -> dict[str, Any]:
        return {"function": self.function, "count": self.count, "p50": self.p50, "p95": self.p95}


@dataclass(frozen=True)
class Failure:
    """One failed job, as its mirror row tells it, with the job that retried it (if any)."""

    pk: int
    job_id: str
    function: str
    queue: str
    finished_at: datetime | None
    tries: int
    error: str
    traceback_head: str
    """The first lines of the traceback."""
    retried_as: str | None
    """Job id of the latest retry from the admin or the dashboard."""
    retry_status: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "function": self.function,
            "queue": self.queue,
            "finished_at": None if self.finished_at is None else self.finished_at.isoformat(),
            "tries": self.tries,
            "error": self.error,
            "retried_as": self.retried_as,
            "retry_status": self.retry_status,
        }


@dataclass(frozen=True)
class Running:
    """One job the mirror shows as running (or between tries), which the dashboard can abort."""

    pk: int
    job_id: str
    function: str
    queue: str
    status: str
    started_at: datetime | None
    tries: int

    def as_dict(self) -> dict[str, Any]:
        return {"job_id": self.job_id, "function": self.function, "queue": self.queue, "status": self.status}
