"""What plain arq code sees of our worker: the failure results a plain ``Job.result()`` caller matches on,
``exc.extra`` on the failure log record, ``queue_read_limit``, arq's patch points, redis-py 4.x.

``make arq-suite`` runs arq's own suite against the worker; these are our own tests of the same promises.
"""

from __future__ import annotations

import asyncio
import logging
import pickle
from typing import Any

import arq.worker
import pytest
from arq.connections import ArqRedis, RedisSettings, create_pool
from arq.constants import in_progress_key_prefix, job_key_prefix
from arq.jobs import DeserializationError, Job
from arq.worker import JobExecutionFailed, func

from arq_django.connection import aclose
from arq_django.worker.events import JobEnd
from arq_django.worker.settings import create_worker
from tests.jobs_app.jobs import sleepy

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
QUEUE = "arq:queue"


class Ends:
    def __init__(self) -> None:
        self.by_id: dict[str, JobEnd] = {}

    def job_started(self, event: Any) -> None:
        pass

    def job_ended(self, event: JobEnd) -> None:
        self.by_id[event.job_id] = event


@pytest.fixture
async def pickle_pool(redis_url: str) -> Any:
    """A plain arq producer and result reader with arq's default serializer, pickle."""
    pool = await create_pool(RedisSettings.from_dsn(redis_url))
    yield pool
    await aclose(pool, close_connection_pool=True)


def pickle_worker(**overrides: Any) -> Any:
    return create_worker(
        burst=True,
        handle_signals=False,
        poll_delay=0.02,
        job_serializer=pickle.dumps,
        job_deserializer=pickle.loads,
        **overrides,
    )


async def test_failure_results_are_arqs_for_plain_arq_callers(pickle_pool: ArqRedis, redis_client) -> None:
    missing = await pickle_pool.enqueue_job("missing", _job_id="missing")
    slow = await pickle_pool.enqueue_job("sleepy", 5, _job_id="slow")  # sleepy's timeout is 0.2 s
    redis_client.psetex(job_key_prefix + "garbage", 60_000, b"\x80 not a pickle")
    redis_client.zadd(QUEUE, {"garbage": 1})
    assert missing is not None and slow is not None
    worker = pickle_worker(functions=[func(sleepy, name="sleepy", timeout=0.2)])
    ends = Ends()
    worker.add_listener(ends)
    await worker.async_run()
    await worker.close()

    with pytest.raises(JobExecutionFailed) as not_found:
        await missing.result(timeout=1)
    assert not_found.value == JobExecutionFailed("function 'missing' not found")  # arq's exact message
    with pytest.raises(DeserializationError) as undecodable:
        await Job("garbage", pickle_pool).result(timeout=1)
    assert repr(undecodable.value) == "DeserializationError('unable to deserialize job')"
    with pytest.raises(TimeoutError):
        await slow.result(timeout=1)
    # Our reasons stay in what the worker reports (logs, the mirror, JobEnd).
    assert ends.by_id["missing"].error.startswith("JobExecutionFailed: function 'missing' not found (")
    assert "on queue 'arq:queue'" in ends.by_id["missing"].error
    assert ends.by_id["garbage"].error.startswith("DeserializationError: unable to deserialize job (")
    assert "job record cannot be decoded" in ends.by_id["garbage"].error
    assert ends.by_id["slow"].error == "TimeoutError: timed out after 0.2 s"


class WithExtra(Exception):
    def __init__(self, message: str, extra: Any) -> None:
        super().__init__(message)
        self.extra = extra


async def raises_with_extra(ctx: dict[str, Any], kind: str) -> None:
    if kind == "callable":
        raise WithExtra("call me", lambda: {"user": 42})
    raise WithExtra("plain", {"x": "y"})


async def test_exc_extra_is_attached_to_the_failure_log_record(pickle_pool: ArqRedis, caplog) -> None:
    caplog.set_level(logging.ERROR, logger="arq.worker")
    await pickle_pool.enqueue_job("raises_with_extra", "plain", _job_id="plain")
    await pickle_pool.enqueue_job("raises_with_extra", "callable", _job_id="callable")
    worker = pickle_worker(functions=[func(raises_with_extra, name="raises_with_extra")])
    await worker.async_run()
    await worker.close()
    records = {
        r.getMessage().split()[2].split(":")[0]: r for r in caplog.records if r.levelno == logging.ERROR
    }
    assert records["plain"].extra == {"x": "y"}  # type: ignore[attr-defined]
    assert records["callable"].extra == {"user": 42}  # type: ignore[attr-defined]


async def test_queue_read_limit_caps_one_poll(pickle_pool: ArqRedis) -> None:
    ran: list[str] = []

    async def note(ctx: dict[str, Any]) -> None:
        ran.append(ctx["job_id"])

    for _ in range(5):
        await pickle_pool.enqueue_job("note")
    # _poll_iteration() without main(), as arq's own tests call it.
    worker = pickle_worker(
        functions=[func(note, name="note")],
        redis_pool=pickle_pool,
        queue_read_limit=2,
        max_jobs=10,
        on_job_start=None,  # arq's hook (our workers set none): ctx["progress"] comes from an extension
    )
    try:
        for expected in (2, 4, 5):
            await worker._poll_iteration()
            assert worker.job_counter <= 2  # one poll started at most queue_read_limit jobs
            await asyncio.gather(*worker.tasks.values())
            assert len(ran) == expected
    finally:
        await worker.close()


async def test_a_patched_arq_keep_cronjob_progress_is_honoured(redis_url, redis_client, monkeypatch) -> None:
    # arq's tests and users patch arq.worker.keep_cronjob_progress; the worker must read it from there.
    monkeypatch.setattr(arq.worker, "keep_cronjob_progress", 500)
    worker = create_worker("startup-q", burst=True, handle_signals=False, poll_delay=0.05)
    await worker.async_run()
    await worker.close()
    keys = redis_client.keys(in_progress_key_prefix + "*")
    assert len(keys) == 1, keys  # the run_at_startup tick keeps its in-progress key
    assert 60_000 < redis_client.pttl(keys[0]) <= 500_000  # arq's own constant is 60 s


async def test_aclose_falls_back_to_close_on_redis_py_before_5_0_1() -> None:
    class OldClient:  # redis-py 4.x: close() only
        closed_with: Any = None

        async def close(self, close_connection_pool: bool | None = None) -> None:
            self.closed_with = close_connection_pool

    client = OldClient()
    await aclose(client, close_connection_pool=False)
    assert client.closed_with is False
