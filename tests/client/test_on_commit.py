"""Enqueue on transaction commit: written after commit, never on rollback, at once outside a transaction."""

from __future__ import annotations

import pytest
from arq.utils import timestamp_ms
from django.contrib.auth.models import User
from django.db import transaction

from arq_django import JobNotRegistered, enqueue, enqueue_on_commit
from tests.conftest import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def queued(redis_client, handle, queue: str = "arq:queue") -> float | None:
    return redis_client.zscore(queue, handle.job_id)


def test_written_only_after_commit_with_id_known_before(redis_url, redis_client):
    with transaction.atomic():
        User.objects.create(username="alice")
        handle = enqueue_on_commit("add", 1, 2)
        assert len(handle.job_id) == 32 and handle.function == "add"
        assert queued(redis_client, handle) is None
        planned = timestamp_ms()
        wait_for(lambda: timestamp_ms() > planned + 50)  # let the clock move before the commit
        committing = timestamp_ms()
    score = queued(redis_client, handle)
    assert score is not None
    assert score >= committing  # scored at commit time, not when enqueue_on_commit was called
    assert redis_client.exists(f"arq:job:{handle.job_id}")


def test_rollback_never_enqueues(redis_url, redis_client):
    with pytest.raises(RuntimeError), transaction.atomic():
        handle = enqueue("add", 1, 2, _on_commit=True)
        raise RuntimeError("roll back")
    assert queued(redis_client, handle) is None
    assert redis_client.dbsize() == 0


def test_savepoint_rollback_drops_only_its_jobs(redis_url, redis_client):
    with transaction.atomic():
        kept = enqueue_on_commit("add", 1, 1)
        try:
            with transaction.atomic():
                dropped = enqueue_on_commit("add", 2, 2)
                raise RuntimeError("inner")
        except RuntimeError:
            pass
    assert queued(redis_client, kept) is not None
    assert queued(redis_client, dropped) is None


def test_outside_a_transaction_enqueues_at_once(redis_url, redis_client):
    handle = enqueue_on_commit("add", 1, 2)
    assert queued(redis_client, handle) is not None
    other = enqueue("add", 3, 4, _on_commit=True)
    assert other is not None and queued(redis_client, other) is not None


def test_relative_delay_counts_from_commit_and_options_apply(redis_url, redis_client):
    with transaction.atomic():
        deferred = enqueue_on_commit("add", 1, 2, _defer_by=60)
        mail = enqueue_on_commit("mail_job", 3)
        planned = timestamp_ms()
        wait_for(lambda: timestamp_ms() > planned + 50)
        committing = timestamp_ms()
    assert queued(redis_client, deferred) >= committing + 60_000
    assert queued(redis_client, mail, "mail") is not None


def test_bad_calls_raise_inside_the_block(redis_url, redis_client):
    with transaction.atomic():
        with pytest.raises(JobNotRegistered):
            enqueue_on_commit("nope")
        with pytest.raises(ValueError):
            enqueue_on_commit("add", 1, 2, _priority=500)
    assert redis_client.dbsize() == 0


def test_unique_job_on_commit_skips_a_taken_id(redis_url, redis_client):
    first = enqueue("unique_job", "oc", 1)
    with transaction.atomic():
        handle = enqueue_on_commit("unique_job", "oc", 1)
    assert handle.job_id == first.job_id  # refers to the pending identical job
    assert redis_client.zcard("arq:queue") == 1


def test_committed_job_runs_on_a_worker(start_worker):
    start_worker()
    with transaction.atomic():
        User.objects.create(username="bob")
        handle = enqueue_on_commit("add", 20, 22)
    assert handle.result(timeout=20) == 42


async def test_aenqueue_refuses_on_commit(redis_url):
    from arq_django import aenqueue

    with pytest.raises(TypeError, match="enqueue_on_commit"):
        await aenqueue("add", 1, 2, _on_commit=True)
