"""Django signals from the worker: job_started / job_finished for every try, job_failed for final failures."""

from __future__ import annotations

import logging

import pytest

from arq_django import enqueue
from arq_django.signals import job_failed, job_finished, job_started
from arq_django.worker.events import Outcome
from arq_django.worker.settings import create_worker
from tests.jobs_app.jobs import boom as boom_handler
from tests.jobs_app.jobs import slow_tries

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def received():
    calls: dict[str, list[dict]] = {"started": [], "finished": [], "failed": [], "async": []}

    def on_started(sender, **kwargs):
        calls["started"].append({"sender": sender, **kwargs})

    def on_finished(sender, **kwargs):
        calls["finished"].append({"sender": sender, **kwargs})

    def on_failed(sender, **kwargs):
        calls["failed"].append({"sender": sender, **kwargs})

    async def on_failed_async(sender, **kwargs):
        calls["async"].append({"sender": sender, **kwargs})

    pairs = [
        (job_started, on_started),
        (job_finished, on_finished),
        (job_failed, on_failed),
        (job_failed, on_failed_async),
    ]
    for signal, receiver in pairs:
        signal.connect(receiver, weak=False)
    yield calls
    for signal, receiver in pairs:
        signal.disconnect(receiver)


async def drain() -> None:
    worker = create_worker(burst=True, handle_signals=False, poll_delay=0.02)
    await worker.async_run()
    await worker.close()


async def test_signals_follow_each_job(redis_url, received):
    ok = enqueue("add", 1, 2)
    boom = enqueue("boom", "kaput")
    retried = enqueue("flaky_then_ok", "sig:tries", failures=1)
    await drain()

    started = [(c["job_id"], c["job_try"]) for c in received["started"]]
    expected = [(ok.job_id, 1), (boom.job_id, 1), (retried.job_id, 1), (retried.job_id, 2)]
    assert sorted(started) == sorted(expected)
    first = received["started"][0]
    assert {"function", "args", "kwargs", "queue_name", "event"} <= set(first)

    finished = {(c["job_id"], c["job_try"]): c for c in received["finished"]}
    assert finished[(ok.job_id, 1)]["outcome"] is Outcome.COMPLETE and finished[(ok.job_id, 1)]["result"] == 3
    assert finished[(boom.job_id, 1)]["outcome"] is Outcome.FAILED
    assert finished[(retried.job_id, 1)]["outcome"] is Outcome.RETRYING
    assert finished[(retried.job_id, 1)]["error"] == "ConnectionError: not yet"
    assert finished[(retried.job_id, 2)]["outcome"] is Outcome.COMPLETE

    # job_failed: the final failure only, with what a handler needs to report it.
    assert len(received["failed"]) == 1
    failed = received["failed"][0]
    assert failed["sender"] is boom_handler and failed["function"] == "boom"
    assert failed["job_id"] == boom.job_id
    assert failed["args"] == ("kaput",) and failed["kwargs"] == {}
    assert isinstance(failed["exception"], ValueError) and str(failed["exception"]) == "kaput"
    assert failed["error"] == "ValueError: kaput" and "raise ValueError(message)" in failed["traceback"]
    assert [c["job_id"] for c in received["async"]] == [boom.job_id]


async def test_job_failed_after_the_last_retry_and_sender_filter(redis_url, received):
    only_flaky: list[str] = []

    def on_flaky(sender, **kwargs):
        only_flaky.append(kwargs["job_id"])

    job_failed.connect(on_flaky, sender=slow_tries, weak=False)
    try:
        timed_out = enqueue("slow_tries", "sig:slow", slow=2)
        boom = enqueue("boom", "x")
        await drain()
    finally:
        job_failed.disconnect(on_flaky, sender=slow_tries)
    assert only_flaky == [timed_out.job_id]
    failures = {c["job_id"]: c for c in received["failed"]}
    assert set(failures) == {timed_out.job_id, boom.job_id}
    assert failures[timed_out.job_id]["job_try"] == 2
    assert failures[timed_out.job_id]["error"] == "TimeoutError: timed out after 0.3 s"
    assert isinstance(failures[timed_out.job_id]["exception"], TimeoutError)


async def test_a_raising_receiver_is_logged_and_harmless(redis_url, received, caplog):
    def broken(sender, **kwargs):
        raise RuntimeError("receiver bug")

    job_finished.connect(broken, weak=False)
    try:
        handle = enqueue("add", 2, 2)
        with caplog.at_level(logging.ERROR, logger="arq_django.signals"):
            await drain()
    finally:
        job_finished.disconnect(broken)
    assert handle.result(timeout=5) == 4
    assert "receiver bug" in caplog.text
    assert [c["job_id"] for c in received["finished"]] == [handle.job_id]
