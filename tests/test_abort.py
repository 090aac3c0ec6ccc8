"""abort(): arq's abort protocol, without waiting for the outcome."""

from __future__ import annotations

import pytest
from arq.constants import abort_jobs_ss, in_progress_key_prefix

from arq_django import enqueue
from arq_django.abort import abort

pytestmark = pytest.mark.integration


def test_abort_marks_queued_running_and_deferred_jobs(redis_url, redis_client, settings):
    settings.ARQ_DJANGO = {**settings.ARQ_DJANGO, "MIRROR": False}
    assert not abort("no-such-job")
    assert redis_client.zcard(abort_jobs_ss) == 0
    queued = enqueue("add", 1, 1)
    deferred = enqueue("add", 1, 1, _defer_by=3600)
    assert abort(queued.job_id) and abort(deferred.job_id)
    assert redis_client.zscore("arq:queue", deferred.job_id) == 1  # picked (and failed as aborted) now
    assert redis_client.zscore("arq:queue", queued.job_id) > 1
    redis_client.set(in_progress_key_prefix + "running", b"1")
    assert abort("running")
    assert redis_client.zcard(abort_jobs_ss) == 3
