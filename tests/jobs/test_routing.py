"""Queues: known queues, pinned jobs, and workers that register only what runs on their queue."""

from __future__ import annotations

import asyncio

import pytest
from django.core.exceptions import ImproperlyConfigured

from arq_django import ArqDjangoError, UnknownQueue, enqueue, job
from arq_django.checks import check_settings
from arq_django.jobs.registry import registry
from arq_django.jobs.routing import known_queues
from arq_django.worker.settings import build, create_worker


def test_unknown_queue_names_the_known_ones(fake_redis):
    with pytest.raises(UnknownQueue) as err:
        enqueue("add", 1, 2, _queue_name="mial")
    assert isinstance(err.value, ImproperlyConfigured) and isinstance(err.value, ArqDjangoError)
    assert "'mial' is not a known queue" in str(err.value) and "mail, reports" in str(err.value)
    assert fake_redis.dbsize() == 0


def test_pinned_job_goes_to_its_queue_only(fake_redis):
    handle = enqueue("mail_job", 1)
    assert handle.queue_name == "mail" and fake_redis.zscore("mail", handle.job_id) is not None
    with pytest.raises(UnknownQueue, match="'mail_job' is pinned to queue 'mail'"):
        enqueue("mail_job", 1, _queue_name="reports")
    floating = enqueue("add", 1, 2, _queue_name="reports")  # jobs without queue= go anywhere known
    assert fake_redis.zscore("reports", floating.job_id) is not None


def test_without_queues_setting_the_pinned_queues_are_known(settings, fake_redis):
    settings.ARQ_DJANGO = {**settings.ARQ_DJANGO, "QUEUES": None}
    assert known_queues()[0] == "arq:queue"
    assert {"mail", "reports", "cron-test", "startup-q"} <= set(known_queues())
    assert "other" not in known_queues()
    with pytest.raises(UnknownQueue):
        enqueue("add", 1, 2, _queue_name="other")


def test_a_worker_registers_only_its_queue_jobs(redis_url):
    mail = {f.name for f in build("mail")["functions"]}
    assert "mail_job" in mail and "report_job" not in mail and "add" in mail
    default = {f.name for f in build()["functions"]}
    assert "mail_job" not in default and "report_job" not in default
    with pytest.raises(UnknownQueue, match="'nope' is not a known queue"):
        build("nope")


def test_pinned_queue_missing_from_queues_is_a_check_error(settings):
    @job("pinned_elsewhere", queue="nowhere")
    async def handler(ctx):
        return None

    try:
        errors = check_settings()
        assert [e.id for e in errors] == ["arq_django.E004"]
        assert "'nowhere'" in errors[0].msg
    finally:
        registry.remove("pinned_elsewhere")


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
async def test_two_queues_two_workers_each_run_only_their_jobs(redis_url, redis_client):
    mail = [enqueue("mail_job", i) for i in range(20)]
    reports = [enqueue("report_job", i) for i in range(20)]
    workers = [
        create_worker(queue, burst=True, handle_signals=False, poll_delay=0.02, max_jobs=2)
        for queue in ("mail", "mail", "reports", "reports")
    ]
    await asyncio.gather(*(w.async_run() for w in workers))
    for w in workers:
        await w.close()
    ran_on_mail = {t.decode() for t in redis_client.lrange("ran:mail", 0, -1)}
    ran_on_reports = {t.decode() for t in redis_client.lrange("ran:reports", 0, -1)}
    assert ran_on_mail == {f"mail:{i}" for i in range(20)}
    assert ran_on_reports == {f"report:{i}" for i in range(20)}
    assert redis_client.llen("ran:mail") == 20 and redis_client.llen("ran:reports") == 20  # each once
    assert all(h.result(timeout=5) == "mail" for h in mail)
    assert all(h.result(timeout=5) == "reports" for h in reports)
    assert sum(w.jobs_failed for w in workers) == 0


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_manage_py_worker_for_a_queue_logs_its_jobs(start_worker):
    worker = start_worker("--queue", "reports", cli="manage")
    handle = enqueue("report_job", 7)
    assert handle.result(timeout=20) == "reports"
    log = worker.output()
    line = next(line for line in log.splitlines() if line.startswith("queue reports:"))
    assert "report_job" in line and "mail_job" not in line
