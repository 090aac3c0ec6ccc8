"""The dashboard's figures from the result mirror: bounded, indexed aggregate queries on ``JobResult``.

Every query is limited to a window of ``finished_at`` (indexes from migration ``0002_dashboard_indexes``),
so the page costs the same on a table of a thousand rows or of millions.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from django.db import connection
from django.db.models import Count, Q
from django.db.models.functions import Trunc

from arq_django.dashboard.series import Bucket, Durations, Failure, Running, Throughput
from arq_django.models import JobResult

Status = JobResult.Status
TRACEBACK_LINES = 6
DURATION_ROWS = 50_000
"""At most this many run times are read per window where the database has no percentile function."""


def bucket_starts(now: datetime, window_s: int, bucket_s: int) -> list[datetime]:
    """Bucket starts covering the window that ends in ``now``'s bucket, oldest first, on whole units."""
    epoch = int(now.timestamp()) // bucket_s * bucket_s
    n = window_s // bucket_s
    return [datetime.fromtimestamp(epoch - (n - 1 - i) * bucket_s, UTC) for i in range(n)]


def throughput(now: datetime, window_s: int, bucket_s: int) -> Throughput:
    """Finished rows per bucket: one ``GROUP BY`` over the window's ``finished_at`` range."""
    starts = bucket_starts(now, window_s, bucket_s)
    kind = "minute" if bucket_s == 60 else "hour"
    rows = (
        JobResult.objects.filter(finished_at__gte=starts[0], status__in=JobResult.FINISHED)
        .annotate(bucket=Trunc("finished_at", kind, tzinfo=UTC))
        .values("bucket")
        .annotate(
            complete=Count("status", filter=Q(status=Status.COMPLETE, tries__lte=1)),
            retried=Count("status", filter=Q(status=Status.COMPLETE, tries__gt=1)),
            failed=Count("status", filter=~Q(status=Status.COMPLETE)),
        )
        .order_by()
    )
    found: dict[datetime, tuple[int, int, int]] = {
        r["bucket"].astimezone(UTC): (r["complete"], r["failed"], r["retried"]) for r in rows
    }
    buckets = []
    for start in starts:
        buckets.append(Bucket(start, *found.get(start, (0, 0, 0))))
    return Throughput(window_s, bucket_s, "mirror", tuple(buckets))


_PERCENTILES_SQL = """
SELECT function, COUNT(*),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM finished_at - started_at)),
       percentile_cont(0.95) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM finished_at - started_at))
FROM {table}
WHERE status = %s AND finished_at >= %s AND started_at IS NOT NULL
GROUP BY function ORDER BY COUNT(*) DESC, function LIMIT %s
"""


def durations(since: datetime, limit: int = 12) -> list[Durations]:
    """p50 / p95 run time per function of the jobs complete since ``since``, busiest first."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            sql = _PERCENTILES_SQL.format(table=connection.ops.quote_name(JobResult._meta.db_table))
            cursor.execute(sql, [Status.COMPLETE, since, limit])
            return [Durations(f, n, round(p50, 4), round(p95, 4)) for f, n, p50, p95 in cursor.fetchall()]
    runs: dict[str, list[float]] = {}
    values = (
        JobResult.objects.filter(status=Status.COMPLETE, finished_at__gte=since, started_at__isnull=False)
        .order_by("-finished_at")
        .values_list("function", "started_at", "finished_at")[:DURATION_ROWS]
    )
    for function, started, finished in values:
        if started is None or finished is None:  # excluded by the filter; narrows the type
            continue
        runs.setdefault(function, []).append(max((finished - started).total_seconds(), 0.0))
    busiest = Counter({f: len(v) for f, v in runs.items()}).most_common(limit)
    return [Durations(f, n, percentile(runs[f], 0.5), percentile(runs[f], 0.95)) for f, n in busiest]


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks, as PostgreSQL's ``percentile_cont``."""
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return round(ordered[low] + (ordered[high] - ordered[low]) * (pos - low), 4)


def latest_failures(limit: int = 10) -> list[Failure]:
    """The newest failed rows (index ``status, finished_at``) and, for each, its latest retry."""
    rows = list(
        JobResult.objects.filter(status=Status.FAILED, finished_at__isnull=False)
        .order_by("-finished_at", "-pk")
        .only("job_id", "function", "queue_name", "finished_at", "tries", "error", "traceback")[:limit]
    )
    retries: dict[int | None, tuple[str, str]] = {}
    for retry_of, job_id, status in (
        JobResult.objects.filter(retry_of__in=[r.pk for r in rows])
        .order_by("pk")
        .values_list("retry_of", "job_id", "status")
    ):
        retries[retry_of] = (job_id, status)  # ordered by pk: the newest retry wins
    return [
        Failure(
            pk=r.pk,
            job_id=r.job_id,
            function=r.function,
            queue=r.queue_name,
            finished_at=r.finished_at,
            tries=r.tries,
            error=r.error,
            traceback_head="\n".join(r.traceback.splitlines()[:TRACEBACK_LINES]),
            retried_as=retries.get(r.pk, (None, None))[0],
            retry_status=retries.get(r.pk, (None, None))[1],
        )
        for r in rows
    ]


def running(limit: int = 10) -> list[Running]:
    """The newest rows still running or waiting for their next try (index ``status, enqueued_at``)."""
    rows = (
        JobResult.objects.filter(status__in=(Status.IN_PROGRESS, Status.RETRYING))
        .order_by("-enqueued_at", "-pk")
        .values_list("pk", "job_id", "function", "queue_name", "status", "started_at", "tries")[:limit]
    )
    return [Running(*r) for r in rows]


def window_start(now: datetime, window_s: int) -> datetime:
    return now - timedelta(seconds=window_s)
