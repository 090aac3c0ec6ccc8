"""``redis+sentinel://`` with passwords on the master and the sentinels: enqueue (sync and async, with
``ENQUEUE_WAIT_REPLICAS``), a real worker and health all find the master through the sentinels. The
failover itself is a chaos test (tests/chaos/test_sentinel_failover.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.test import Client

from arq_django import EnqueueNotConfirmed, aenqueue, enqueue
from arq_django.connection import aclose_pools, close_sync_clients
from tests.redis_servers import SentinelSet, start_sentinel_set

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def small_set(tmp_path: Path):
    cluster = start_sentinel_set(tmp_path / "sentinel", replicas=1, sentinels=1)
    yield cluster
    cluster.stop()


@pytest.fixture
def via_sentinel(settings, redis_url, small_set: SentinelSet):
    extra = {"REDIS_URL": small_set.url(), "ENQUEUE_WAIT_REPLICAS": 1, "HEALTH_CHECKS": ["redis", "workers"]}
    settings.ARQ_DJANGO = {**settings.ARQ_DJANGO, **extra}
    yield extra
    close_sync_clients()


def test_enqueue_waits_for_the_replica_and_a_worker_runs_the_job(via_sentinel, small_set, start_worker):
    handle = enqueue("add", 1, 2)
    assert handle is not None
    # WAIT returned: the replica has the job the moment enqueue() returns.
    assert small_set.replicas[0].client().exists(f"arq:job:{handle.job_id}")
    start_worker(
        cli="manage",
        env={"REDIS_URL": via_sentinel["REDIS_URL"], "ARQ_DJANGO_EXTRA": json.dumps(via_sentinel)},
    )
    assert handle.result(timeout=30) == 3
    response = Client().get("/arq/health/")
    assert response.status_code == 200, response.json()


async def test_aenqueue_waits_for_the_replica_too(via_sentinel, small_set):
    try:
        handle = await aenqueue("add", 2, 2)
    finally:
        await aclose_pools()
    assert handle is not None and small_set.replicas[0].client().exists(f"arq:job:{handle.job_id}")


def test_a_job_fewer_replicas_confirm_raises_after_its_write(settings, via_sentinel, small_set):
    settings.ARQ_DJANGO = {**settings.ARQ_DJANGO, "ENQUEUE_WAIT_REPLICAS": 2, "ENQUEUE_WAIT_TIMEOUT": 1.0}
    with pytest.raises(EnqueueNotConfirmed) as info:
        enqueue("add", 1, 1, _job_id="needs-two")
    message = str(info.value)
    assert "job needs-two ('add', queue 'arq:queue') was written on the primary" in message
    assert "not confirmed by 2 replica(s) (1 confirmed within the timeout)" in message
    assert "may run, or be lost if the primary fails over" in message and "ENQUEUE_WAIT_REPLICAS" in message
    assert small_set.master_password not in message and "redis+sentinel://***@127.0.0.1" in message
    assert info.value.job_id == "needs-two" and small_set.primary.client().exists("arq:job:needs-two")
    assert enqueue("add", 1, 1, _job_id="needs-two") is None  # a retry with its id cannot write it twice
