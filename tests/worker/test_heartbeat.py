"""Worker heartbeats and the outcome counters every worker adds to."""

from __future__ import annotations

import os
import socket

import pytest
from redis.asyncio import Redis as AsyncRedis

from arq_django import enqueue
from arq_django.connection import aclose
from arq_django.ops.outcomes import read_function_stats, read_recent_outcomes
from arq_django.ops.workers import PREFIX, read_workers, workers_per_queue
from arq_django.worker.stats import BUCKETS, record_job_outcomes
from tests.conftest import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_a_worker_keeps_its_heartbeat_fresh_and_deletes_it_on_shutdown(thread_worker, settings, redis_client):
    settings.ARQ_DJANGO = {**settings.ARQ_DJANGO, "HEARTBEAT_INTERVAL": 0.2}
    worker = thread_worker()
    [beat] = read_workers(redis_client)
    assert beat.queue == "arq:queue" and beat.pid == os.getpid() and beat.host == socket.gethostname()
    assert beat.key == f"{PREFIX}{beat.host}:{beat.pid}:{round(beat.started_at * 1000)}"
    assert beat.jobs_complete == 0 and beat.last_job_at is None and beat.max_jobs == 10
    assert 0 < redis_client.pttl(beat.key) <= 600  # three intervals
    # arq's own health-check key follows the heartbeat, so `arq --check` notices a dead worker quickly.
    assert worker.worker.health_check_interval == 0.2
    wait_for(lambda: redis_client.exists("arq:queue:health-check"))  # written by the first poll
    assert 0 < redis_client.pttl("arq:queue:health-check") <= 1200

    handles = [enqueue("add", 1, 1), enqueue("boom", "x"), enqueue("count", "k", seconds=1.0)]
    wait_for(lambda: read_workers(redis_client)[0].jobs_running == 1, timeout=20)
    for h in handles:
        wait_for(h.result_info)

    def settled():
        beats = read_workers(redis_client)
        return (
            beats[0]
            if (beats[0].jobs_complete, beats[0].jobs_failed, beats[0].jobs_running) == (2, 1, 0)
            else None
        )

    beat = wait_for(settled)
    assert beat.last_job_at is not None and beat.beat_at >= beat.last_job_at - 0.01
    worker.stop()
    assert read_workers(redis_client) == []
    assert not list(redis_client.scan_iter(match=PREFIX + "*"))


def test_a_subprocess_worker_is_seen_and_gone_after_sigterm(start_worker, redis_client):
    worker = start_worker()
    [beat] = wait_for(lambda: read_workers(redis_client))
    assert beat.pid == worker.process.pid
    worker.stop()
    assert worker.process.returncode == 0, worker.output()
    assert read_workers(redis_client) == []


def test_outcomes_of_every_worker_add_up(thread_worker, redis_client):
    first, second = thread_worker(), thread_worker()
    assert workers_per_queue(read_workers(redis_client)) == {"arq:queue": 2}
    handles = [enqueue("count", "n", seconds=0.05) for _ in range(20)] + [enqueue("boom", "x")]
    for h in handles:
        wait_for(h.result_info)
    first.stop()
    second.stop()
    assert redis_client.scard("n:ids") == 20
    w1, w2 = first.worker, second.worker
    assert w1.jobs_complete > 0 and w2.jobs_complete > 0  # both took part
    stats = {s.function: s for s in read_function_stats(redis_client, ["arq:queue"])}
    assert stats["count"].outcomes == {"complete": 20}
    assert stats["boom"].outcomes == {"failed": 1}
    assert stats["count"].buckets[-1] == ("+Inf", 20) and stats["count"].duration_sum >= 20 * 0.04
    assert read_recent_outcomes(redis_client, ["arq:queue"])["arq:queue"] == {"complete": 20, "failed": 1}


def test_aborted_before_start_counts_without_a_duration(redis_client, thread_worker):
    from arq_django import abort

    handle = enqueue("add", 1, 2, _defer_by=3600)
    assert abort(handle.job_id)
    worker = thread_worker()
    wait_for(handle.result_info)
    worker.stop()
    [stats] = read_function_stats(redis_client, ["arq:queue"])
    assert stats.function == "add" and stats.outcomes == {"aborted": 1} and stats.buckets[-1] == ("+Inf", 0)


async def test_record_job_outcomes_buckets_and_sums(redis_url):
    import redis

    client = AsyncRedis.from_url(redis_url)
    await record_job_outcomes(
        client,
        "q",
        [("f", "complete", 0.003), ("f", "complete", 0.2), ("f", "failed", 700.0), ("g", "retrying", None)],
    )
    await aclose(client)
    sync = redis.Redis.from_url(redis_url)
    by_function = {s.function: s for s in read_function_stats(sync, ["q"])}
    f = by_function["f"]
    assert f.outcomes == {"complete": 2, "failed": 1}
    buckets = dict(f.buckets)
    assert list(buckets) == [*map(repr, BUCKETS), "+Inf"]
    assert buckets["0.005"] == 1 and buckets["0.1"] == 1 and buckets["0.25"] == 2
    assert buckets["600.0"] == 2 and buckets["+Inf"] == 3
    assert f.duration_sum == pytest.approx(700.203)
    assert by_function["g"].outcomes == {"retrying": 1} and by_function["g"].buckets[-1] == ("+Inf", 0)
    sync.close()


def test_malformed_heartbeats_are_ignored(redis_client):
    redis_client.set(PREFIX + "h:1:2", b"not json")
    redis_client.set(PREFIX + "h:1:3", b'{"queue": "q"}')
    assert read_workers(redis_client) == []


async def test_job_ends_close_together_are_counted_in_one_write(redis_url, monkeypatch):
    """A busy worker writes its outcome figures once per GATHER_S, not once per job; stopping writes
    what is left at once."""
    import asyncio
    import datetime as dt

    import redis

    from arq_django.worker import stats
    from arq_django.worker.events import JobEnd, Outcome

    writes: list[int] = []
    write = stats.record_job_outcomes

    async def counted(client, queue, outcomes):
        writes.append(len(outcomes))
        await write(client, queue, outcomes)

    monkeypatch.setattr(stats, "record_job_outcomes", counted)
    client = AsyncRedis.from_url(redis_url)
    counter = stats.JobStats(client, "q")
    counter.start()
    now = dt.datetime.now(dt.UTC)
    for i in range(20):
        end = JobEnd(f"j{i}", "f", "q", (), {}, 1, 5, now, now, now, "w", Outcome.COMPLETE)
        counter.job_ended(end)
        await asyncio.sleep(0.001)
    await asyncio.sleep(stats.GATHER_S * 3)
    counter.job_ended(JobEnd("last", "f", "q", (), {}, 1, 5, now, now, now, "w", Outcome.FAILED))
    await counter.stop()  # at once, not after another GATHER_S
    await aclose(client)
    assert sum(writes) == 21 and len(writes) <= 3, writes
    sync = redis.Redis.from_url(redis_url)
    [f] = read_function_stats(sync, ["q"])
    assert f.outcomes == {"complete": 20, "failed": 1}
    sync.close()
