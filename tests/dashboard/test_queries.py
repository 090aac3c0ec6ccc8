"""The dashboard's readers: mirror aggregates bucket by bucket, percentiles, failures, the counters."""

from __future__ import annotations

import asyncio
import datetime as dt
from datetime import UTC

import pytest
from redis.asyncio import Redis as AsyncRedis

from arq_django.dashboard import counters, mirror
from arq_django.dashboard.charts import seconds_text, throughput_chart
from arq_django.models import JobResult
from arq_django.worker.stats import record_job_outcomes
from tests.redis_servers import second_redis  # noqa: F401

Status = JobResult.Status
NOW = dt.datetime(2026, 3, 4, 12, 30, 20, tzinfo=UTC)


def row(job_id: str, finished: dt.datetime, status: str = Status.COMPLETE, **extra: object) -> JobResult:
    values: dict[str, object] = {
        "function": "add",
        "queue_name": "arq:queue",
        "tries": 1,
        "started_at": finished - dt.timedelta(seconds=1),
        "finished_at": finished,
        **extra,
    }
    return JobResult(job_id=job_id, status=status, **values)


@pytest.mark.django_db
def test_throughput_counts_each_bucket_and_nothing_outside_the_window():
    JobResult.objects.bulk_create(
        [
            row("now-1", NOW - dt.timedelta(seconds=10)),
            row("now-2", NOW - dt.timedelta(seconds=15), tries=3),
            row("now-3", NOW - dt.timedelta(seconds=5), Status.FAILED),
            row("now-4", NOW - dt.timedelta(seconds=1), Status.ABORTED),
            row("ago-5m", NOW - dt.timedelta(minutes=5)),
            row("ago-59m", NOW.replace(second=0) - dt.timedelta(minutes=59)),
            row("ago-61m", NOW - dt.timedelta(minutes=61)),  # outside the hour, inside the day
            row("ago-2d", NOW - dt.timedelta(days=2)),
            row("running", NOW, Status.IN_PROGRESS, finished_at=None),
        ]
    )
    hour = mirror.throughput(NOW, 3600, 60)
    assert len(hour.buckets) == 60 and hour.buckets[-1].start == NOW.replace(second=0)
    last = hour.buckets[-1]
    assert (last.complete, last.retried, last.failed) == (1, 1, 2)
    assert hour.buckets[-6].total == 1 and hour.buckets[0].total == 1
    assert hour.total == 6
    day = mirror.throughput(NOW, 24 * 3600, 3600)
    assert len(day.buckets) == 24 and day.buckets[-1].start == NOW.replace(minute=0, second=0)
    assert [b.total for b in day.buckets[-3:]] == [0, 2, 5]  # 11:29 and 11:31 share 11:00
    assert day.total == 7


@pytest.mark.django_db
def test_every_hour_of_a_busy_day_is_counted_once():
    rows = [row(f"m-{m}", NOW - dt.timedelta(minutes=m)) for m in range(2 * 24 * 60)]
    JobResult.objects.bulk_create(rows)
    day = mirror.throughput(NOW, 24 * 3600, 3600)  # 13:00 yesterday to 12:30:20 today
    assert [b.total for b in day.buckets] == [60] * 23 + [31]


@pytest.mark.django_db
def test_durations_are_percentiles_per_function():
    JobResult.objects.bulk_create(
        [row(f"a-{i}", NOW, started_at=NOW - dt.timedelta(seconds=i)) for i in range(1, 101)]
        + [row("b-1", NOW, function="other", started_at=NOW - dt.timedelta(seconds=0.5))]
        + [row("old", NOW - dt.timedelta(hours=2), started_at=NOW - dt.timedelta(hours=3))]
    )
    found = {d.function: d for d in mirror.durations(NOW - dt.timedelta(hours=1))}
    assert (found["add"].count, found["add"].p50, found["add"].p95) == (100, 50.5, 95.05)
    assert (found["other"].count, found["other"].p50) == (1, 0.5)


@pytest.mark.django_db
def test_failures_newest_first_with_their_latest_retry():
    old = row("fail-old", NOW - dt.timedelta(hours=1), Status.FAILED, traceback="a\nb\nc\nd\ne\nf\ng\nh")
    new = row("fail-new", NOW, Status.FAILED, error="ValueError: x")
    JobResult.objects.bulk_create([old, new, row("fine", NOW)])
    old_row = JobResult.objects.get(job_id="fail-old")
    JobResult.objects.create(
        job_id="retry-1", function="add", queue_name="q", status="failed", retry_of=old_row
    )
    JobResult.objects.create(
        job_id="retry-2", function="add", queue_name="q", status="queued", retry_of=old_row
    )
    failures = mirror.latest_failures()
    assert [f.job_id for f in failures] == ["fail-new", "fail-old"]  # retry-1 has no finish time
    assert failures[-1].traceback_head == "a\nb\nc\nd\ne\nf"
    assert (failures[-1].retried_as, failures[-1].retry_status) == ("retry-2", "queued")
    assert failures[0].retried_as is None and failures[0].error == "ValueError: x"


def test_counters_when_the_mirror_is_off(redis_url, redis_client):
    async def record() -> None:
        client = AsyncRedis.from_url(redis_url)
        outcomes = [("add", "complete", 0.02)] * 4 + [("add", "failed", 2.0), ("add", "retrying", 0.3)]
        await record_job_outcomes(client, "arq:queue", outcomes)
        await record_job_outcomes(
            client, "mail", [("mail_job", "complete", 0.004), ("mail_job", "aborted", None)]
        )
        await client.aclose()

    asyncio.run(record())
    now = dt.datetime.now(UTC)
    hour = counters.throughput([(redis_client, ["arq:queue", "mail"])], now, 3600, 60)
    last = hour.buckets[-1]
    if last.total == 0:  # the minute turned between writing and reading
        last = hour.buckets[-2]
    assert (last.complete, last.failed, last.retried) == (5, 2, 1) and hour.total == 8
    assert hour.source == "counters" and len(hour.buckets) == 60
    day = counters.throughput([(redis_client, ["arq:queue", "mail"])], now, 24 * 3600, 3600)
    assert len(day.buckets) == 24 and day.total == 8
    found = {d.function: d for d in counters.durations([(redis_client, ["arq:queue", "mail"])])}
    # add: 4 runs at 0.02 s (bucket 0.025), 0.3 s (0.5) and 2.0 s (2.5): p50 in 0.025, p95 in 2.5
    assert (found["add"].count, found["add"].p50, found["add"].p95) == (6, 0.025, 2.5)
    assert (found["mail_job"].count, found["mail_job"].p50) == (1, 0.005)


def test_counters_are_summed_over_every_server(redis_url, redis_client, second_redis):  # noqa: F811
    """A queue on a Redis of its own keeps its counters there; the dashboard reads both servers."""
    other_url = f"redis://127.0.0.1:{second_redis.port}/0"

    async def record() -> None:
        here, there = AsyncRedis.from_url(redis_url), AsyncRedis.from_url(other_url)
        await record_job_outcomes(here, "arq:queue", [("add", "complete", 0.02)] * 3)
        await record_job_outcomes(
            there, "mail", [("mail_job", "complete", 0.004), ("mail_job", "failed", 1.0)]
        )
        await here.aclose()
        await there.aclose()

    asyncio.run(record())
    servers = [(redis_client, ["arq:queue"]), (second_redis.client(), ["mail"])]
    day = counters.throughput(servers, dt.datetime.now(UTC), 24 * 3600, 3600)
    assert day.total == 5 and sum(b.failed for b in day.buckets) == 1
    found = {d.function: d.count for d in counters.durations(servers)}
    assert found == {"add": 3, "mail_job": 2}
    assert counters.throughput(servers[:1], dt.datetime.now(UTC), 24 * 3600, 3600).total == 3


def test_chart_draws_one_bar_group_per_bucket_and_escapes():
    from arq_django.dashboard.series import Bucket, Throughput

    start = NOW.replace(second=0)
    buckets = tuple(Bucket(start + dt.timedelta(minutes=i), i, i % 2, 0) for i in range(60))
    svg = str(throughput_chart(Throughput(3600, 60, "mirror", buckets), 'a "label" <b>'))
    assert svg.count('<g class="arq-bar"') == 60 and 'data-total="60"' in svg
    assert svg.count('class="arq-failed"') == 30 and svg.count('class="arq-retried"') == 0
    assert "&quot;label&quot; &lt;b&gt;" in svg and ">100<" in svg  # y axis: 59 rounds up to 100
    assert [seconds_text(v) for v in (0.0004, 0.012, 1.254, float("inf"))] == [
        "0.4 ms",
        "12 ms",
        "1.25 s",
        "> 600 s",
    ]
