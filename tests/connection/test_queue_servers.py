"""Two queues on two Redis servers: enqueue routes by queue, each queue's worker serves it on its own
server, status and health cover both, and a server that is down fails health for its queues only."""

from __future__ import annotations

import asyncio
import json

import pytest
from django.test import Client

from arq_django import JobHandle, enqueue
from arq_django.connection import close_sync_clients
from arq_django.ops.status import read_status
from tests.conftest import wait_for
from tests.redis_servers import RedisProcess, second_redis  # noqa: F401

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def two_servers(settings, redis_url, second_redis: RedisProcess):  # noqa: F811
    queues = {q: {} for q in settings.ARQ_DJANGO["QUEUES"]}
    queues["mail"] = {"REDIS_URL": f"redis://127.0.0.1:{second_redis.port}/0"}
    extra = {
        "QUEUES": queues,
        "HEALTH_MIN_WORKERS": {"mail": 1, "reports": 1},
        "HEALTH_CHECKS": ["redis", "workers"],
    }
    settings.ARQ_DJANGO = {**settings.ARQ_DJANGO, **extra}
    yield extra
    close_sync_clients()


def test_each_queue_lives_and_runs_on_its_own_server(two_servers, second_redis, redis_client, start_worker):  # noqa: F811
    mail, report = enqueue("mail_job", 1), enqueue("report_job", 2)
    assert mail is not None and report is not None
    other = second_redis.client()
    assert other.zscore("mail", mail.job_id) is not None and redis_client.zscore("mail", mail.job_id) is None
    assert (
        redis_client.zscore("reports", report.job_id) is not None
        and other.zscore("reports", report.job_id) is None
    )
    status = {q.depth.queue: q for q in read_status().queues}
    assert (status["mail"].depth.queued, status["reports"].depth.queued) == (1, 1)

    env = {"ARQ_DJANGO_EXTRA": json.dumps(two_servers)}
    start_worker("--queue", "mail", cli="manage", env=env)
    start_worker("--queue", "reports", cli="manage", env=env)
    assert (mail.result(timeout=30), report.result(timeout=30)) == ("mail", "reports")
    assert other.lrange("ran:mail", 0, -1) == [b"mail:1"] and not redis_client.exists("ran:mail")
    assert redis_client.lrange("ran:reports", 0, -1) == [b"report:2"]

    wait_for(lambda: {q.depth.queue: q.workers for q in read_status().queues}.get("mail") == 1, timeout=20)
    body = Client().get("/arq/health/").json()
    assert body["status"] == "ok", body
    assert body["checks"]["workers[mail]"]["queues"] == {"mail": 1}
    assert body["checks"]["workers"]["queues"] == {"reports": 1}
    assert {"redis", "redis[mail]"} <= set(body["checks"])

    second_redis.stop()
    response = Client().get("/arq/health/")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert not checks["redis[mail]"]["ok"] and checks["redis"]["ok"] and checks["workers"]["ok"]
    assert Client().get("/arq/health/?queue=reports").status_code == 200
    assert Client().get("/arq/health/?queue=mail").status_code == 503
    assert Client().get("/arq/health/?queue=nope").status_code == 404


def test_task_rows_go_to_their_queues_server_and_are_run_there(
    settings,
    redis_url,
    second_redis: RedisProcess,  # noqa: F811
    redis_client,
    start_worker,
):
    """A task model's queue on a Redis of its own: its rows' jobs (one or in bulk) are written there,
    its workers run them there, and the results land on the rows."""
    from tests.model_tasks_app.models import Export

    queues = {q: {} for q in settings.ARQ_DJANGO["QUEUES"]}
    queues["rows"] = {"REDIS_URL": f"redis://127.0.0.1:{second_redis.port}/0"}
    settings.ARQ_DJANGO = {**settings.ARQ_DJANGO, "QUEUES": queues}
    try:
        one = Export.objects.create(name="one")
        bulk = Export.objects.bulk_create([Export(name="two"), Export(name="three")])
        rows = [Export.objects.get(pk=pk) for pk in [one.pk, *(row.pk for row in bulk)]]
        other = second_redis.client()
        for row in rows:
            assert row.job_id and other.zscore("rows", row.job_id) is not None, row
            assert redis_client.zscore("rows", row.job_id) is None
        start_worker(
            "--queue", "rows", cli="manage", env={"ARQ_DJANGO_EXTRA": json.dumps({"QUEUES": queues})}
        )
        for row in rows:
            done = wait_for(
                lambda row=row: Export.objects.filter(pk=row.pk, status="complete").first(), timeout=30
            )
            assert done.result == {"name": row.name, "try": 1}
            handle = JobHandle(done.job_id, "rows")  # results and progress live on the queue's server
            assert handle.result(timeout=5) == done.result
            assert asyncio.run(handle.aresult(timeout=5)) == done.result
            progress = handle.progress()
            assert progress is not None and (progress.fraction, progress.message) == (0.5, "half")
    finally:
        close_sync_clients()


def test_tasks_on_a_queue_with_its_own_redis_are_read_there_with_the_mirror_off(
    two_servers,
    settings,
    second_redis: RedisProcess,  # noqa: F811
    start_worker,
):
    """Django Tasks' get_result / aget_result with MIRROR off read every server holding the backend's
    queues, not only the default one."""
    from arq_django.tasks.compat import TaskResultStatus, task_backends
    from tests.tasks import sample

    settings.ARQ_DJANGO = {**settings.ARQ_DJANGO, "MIRROR": False}
    backend = task_backends["default"]
    result = sample.on_mail.enqueue("x")
    assert second_redis.client().zscore("mail", result.id) is not None
    assert backend.get_result(result.id).status == TaskResultStatus.READY
    assert asyncio.run(backend.aget_result(result.id)).status == TaskResultStatus.READY

    env = {"ARQ_DJANGO_EXTRA": json.dumps({**two_servers, "MIRROR": False})}
    start_worker("--queue", "mail", cli="manage", env=env)
    done = wait_for(
        lambda: (r := backend.get_result(result.id)).status == TaskResultStatus.SUCCESSFUL and r, timeout=30
    )
    assert done.return_value == "mail:x"
    again = asyncio.run(backend.aget_result(result.id))
    assert again.status == TaskResultStatus.SUCCESSFUL and again.return_value == "mail:x"
