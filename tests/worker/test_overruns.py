"""Sync jobs past their timeout keep their thread: the worker counts them, stops itself at
``SYNC_OVERRUN_LIMIT`` so that its supervisor starts a fresh one, and never waits for them at shutdown."""

from __future__ import annotations

import signal

import pytest

from arq_django import enqueue
from arq_django.worker.overruns import EXIT_STATUS
from tests.conftest import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
STUCK = {"ARQ_JOB_TIMEOUT": "0.3", "ARQ_JOB_COMPLETION_WAIT": "2"}
"""sync_gated waits up to a minute for its gate, far past this timeout."""


def test_the_worker_ends_itself_at_the_overrun_limit(start_worker, redis_client):
    worker = start_worker(env={**STUCK, "ARQ_SYNC_OVERRUN_LIMIT": "2"})
    stuck = [enqueue("sync_gated", f"overrun:gate:{i}") for i in range(2)]
    wait_for(lambda: worker.process.poll() is not None, timeout=20)  # a supervisor restarts it
    assert worker.process.returncode == EXIT_STATUS, worker.output()
    assert "SYNC_OVERRUN_LIMIT" in worker.output()
    for handle in stuck:
        info = handle.result_info()
        assert info is not None and not info.success  # each failed by its timeout, as before
    later = enqueue("add", 1, 1)
    assert later is not None
    start_worker()  # the fresh worker the supervisor would start carries on
    assert later.result(timeout=20) == 2


def test_below_the_limit_the_worker_goes_on(start_worker, redis_client):
    worker = start_worker(env={**STUCK, "ARQ_SYNC_OVERRUN_LIMIT": "3"})
    stuck = enqueue("sync_gated", "overrun:gate:one")
    assert stuck is not None
    wait_for(lambda: stuck.result_info() is not None)
    assert enqueue("add", 2, 2).result(timeout=20) == 4  # type: ignore[union-attr]
    assert worker.process.poll() is None
    redis_client.set("overrun:gate:one", 1)


def test_shutdown_never_waits_for_an_overrunning_thread(start_worker):
    """Without a limit too: SIGTERM ends the worker at once instead of when the stuck thread ends."""
    worker = start_worker(env=STUCK)
    stuck = enqueue("sync_gated", "overrun:gate:shutdown")
    assert stuck is not None
    wait_for(lambda: stuck.result_info() is not None)
    worker.signal(signal.SIGTERM)
    assert worker.wait(timeout=10) == EXIT_STATUS, worker.output()
    assert "still running past their timeout" in worker.output()
