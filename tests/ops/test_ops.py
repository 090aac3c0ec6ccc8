"""The operations layer: queue figures, history, retry, purge, durations and JSON encoding."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from arq.constants import in_progress_key_prefix, job_key_prefix
from django.utils import timezone

from arq_django import JobFailed, enqueue
from arq_django.ops import actions, history, jobs
from arq_django.ops.durations import parse_duration
from arq_django.ops.encoding import OpsJSONEncoder
from arq_django.ops.queues import queue_depths
from tests.conftest import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_queue_depths_tell_running_from_waiting(redis_client):
    now = int(time.time() * 1000)
    members = {"run-1": now - 5000, "wait-1": now - 3000, "wait-2": now - 1000, "later": now + 60_000}
    redis_client.zadd("q", members)
    redis_client.set(in_progress_key_prefix + "run-1", b"1")
    redis_client.set(in_progress_key_prefix + "elsewhere", b"1")  # another queue's running job
    [q, empty] = queue_depths(redis_client, ["q", "empty"])
    assert (q.queued, q.deferred, q.running) == (2, 1, 1)
    assert 2.5 < q.oldest_age < 30  # wait-1, not the running run-1
    assert (empty.queued, empty.deferred, empty.running, empty.oldest_age) == (0, 0, 0, None)


def test_purge_drops_waiting_jobs_of_one_queue_only(redis_url, redis_client):
    waiting = [enqueue("add", i, i) for i in range(7)] + [enqueue("add", 0, 0, _defer_by=600)]
    other = enqueue("add", 9, 9, _queue_name="other")
    running = enqueue("add", 5, 5)
    redis_client.set(in_progress_key_prefix + running.job_id, b"1")
    assert actions.purge("arq:queue", batch=3) == 8
    assert [m.decode() for m in redis_client.zrange("arq:queue", 0, -1)] == [running.job_id]
    assert redis_client.exists(job_key_prefix + running.job_id)
    assert not any(redis_client.exists(job_key_prefix + h.job_id) for h in waiting)
    assert redis_client.zcard("other") == 1 and redis_client.exists(job_key_prefix + other.job_id)
    assert actions.purge("arq:queue") == 0


def test_history_filters_and_retry(thread_worker, redis_client):
    thread_worker()
    handles = [enqueue("add", 1, 2), enqueue("boom", "one"), enqueue("no_retry")]
    handles.append(enqueue("echo", 1, k=Decimal(2)))
    for h in handles:
        wait_for(h.result_info)
    assert {r.job_id for r in history.find_results(status="failed")} == {handles[1].job_id, handles[2].job_id}
    assert [r.function for r in history.find_results(function="echo")] == ["echo"]
    assert history.find_results(queue="elsewhere") == []
    assert len(history.find_results(limit=2)) == 2
    newest_first = history.find_results(limit=None)
    finish_times = [r.finish_time for r in newest_first]
    assert finish_times == sorted(finish_times, reverse=True)
    assert history.find_results(since=timezone.now() + timedelta(seconds=5)) == []
    assert history.get_result(handles[1].job_id).error == "builtins.ValueError: one"

    outcomes = actions.retry_failed(function="boom")
    assert [o.job_id for o in outcomes] == [handles[1].job_id] and outcomes[0].new_job_id
    new = wait_for(lambda: history.get_result(outcomes[0].new_job_id))
    assert new.function == "boom" and new.args == ("one",) and new.queue == "arq:queue"
    [again] = actions.retry([handles[0].job_id, "nope"])[:1]
    assert again.new_job_id and wait_for(lambda: history.get_result(again.new_job_id)).result == 3
    assert actions.retry(["nope"])[0].error.startswith("no result record")
    assert jobs.get_job("nope") is None


def test_retry_failed_skips_jobs_already_retried(thread_worker):
    thread_worker()
    failed = enqueue("boom", "x")
    wait_for(failed.result_info)
    [first] = actions.retry_failed()
    wait_for(lambda: history.get_result(first.new_job_id))
    # The retry failed too: it is the only one left to retry, the original is not retried twice.
    [second] = actions.retry_failed()
    assert second.job_id == first.new_job_id


def test_parse_duration():
    assert parse_duration("30s") == timedelta(seconds=30)
    assert parse_duration("5m") == timedelta(minutes=5)
    assert parse_duration(" 1.5h ") == timedelta(minutes=90)
    assert parse_duration("2d") == timedelta(days=2)
    assert parse_duration("250ms") == timedelta(milliseconds=250)
    assert parse_duration("90") == parse_duration(90) == timedelta(seconds=90)
    for bad in ("", "soon", "-5s", "5 weeks", -1, True):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_encoder_never_fails_a_listing():
    data = {
        "bytes": b"\x00\x01",
        "set": {1},
        "decimal": Decimal("1.5"),
        "uuid": uuid.UUID(int=1),
        "failed": JobFailed("builtins.ValueError", "bad"),
        "aborted": asyncio.CancelledError(),
        "error": KeyError("k"),
        "odd": object(),
    }
    out = json.loads(json.dumps(data, cls=OpsJSONEncoder))
    assert out["bytes"] == {"base64": "AAE="} and out["set"] == [1] and out["decimal"] == "1.5"
    assert out["failed"] == {"error": "builtins.ValueError", "message": "bad"}
    assert out["aborted"] == {"error": "aborted"} and out["error"]["error"] == "KeyError"
    assert out["odd"].startswith("<object object")


def test_purge_refuses_a_key_that_is_not_a_queue(redis_client, redis_url):
    redis_client.set("not-a-queue", b"x")
    with pytest.raises(ValueError, match="is a Redis string, not an arq queue"):
        actions.purge("not-a-queue")
    assert redis_client.get("not-a-queue") == b"x"
