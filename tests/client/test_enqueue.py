"""enqueue()/aenqueue() write exactly what arq writes; every bad input raises before any write."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from decimal import Decimal

import pytest
from arq.constants import job_key_prefix
from arq.jobs import JobStatus, deserialize_job

from arq_django import EnqueueError, JobHandle, JobNotRegistered, SerializationError, aenqueue, enqueue
from arq_django.embedded import free_port
from arq_django.serializers import JSON


def written_keys(client):
    return sorted(k.decode() for k in client.keys("*"))


def test_record_is_what_arq_reads(fake_redis):
    before = int(time.time() * 1000)
    # echo(ctx, *args, **kwargs) takes any arguments (email's own signature would refuse "x" with to=).
    handle = enqueue("echo", "x", to="a@example.com", subject="Hi", body=Decimal("1.5"))
    after = int(time.time() * 1000)
    assert isinstance(handle, JobHandle) and handle.function == "echo" and handle.queue_name == "arq:queue"
    raw = fake_redis.get(job_key_prefix + handle.job_id)
    job = deserialize_job(raw, deserializer=JSON.loads)
    assert job.function == "echo"
    assert list(job.args) == ["x"]
    assert job.kwargs == {"to": "a@example.com", "subject": "Hi", "body": Decimal("1.5")}
    assert job.job_try is None
    assert before <= job.enqueue_time.timestamp() * 1000 <= after
    score = fake_redis.zscore("arq:queue", handle.job_id)
    assert before <= score <= after
    # arq's default expiry: time until run plus one day (fakeredis truncates it to a whole second)
    elapsed_ms = time.time() * 1000 - before
    assert 86_399_000 - elapsed_ms <= fake_redis.pttl(job_key_prefix + handle.job_id) <= 86_400_000
    assert handle.status() == JobStatus.queued


def test_job_id_uniqueness_follows_arq(fake_redis):
    first = enqueue("add", 1, 2, _job_id="fixed")
    assert first is not None and first.job_id == "fixed"
    assert enqueue("add", 1, 2, _job_id="fixed") is None
    fake_redis.delete(job_key_prefix + "fixed")
    fake_redis.set("arq:result:fixed", b"x")
    assert enqueue("add", 1, 2, _job_id="fixed") is None  # a held result blocks the id too


def test_dotted_path_enqueues_the_registered_name(fake_redis):
    handle = enqueue("tests.jobs_app.jobs.add", 1, 2)
    assert handle is not None and handle.function == "add"


def test_defer_by_and_defer_until(fake_redis):
    now = time.time() * 1000
    deferred = enqueue("add", 1, 2, _defer_by=dt.timedelta(seconds=60))
    assert deferred is not None and deferred.status() == JobStatus.deferred
    assert abs(fake_redis.zscore("arq:queue", deferred.job_id) - (now + 60_000)) < 2000
    at = dt.datetime(2031, 1, 1, tzinfo=dt.UTC)
    later = enqueue("add", 1, 2, _defer_until=at)
    assert later is not None
    assert fake_redis.zscore("arq:queue", later.job_id) == at.timestamp() * 1000
    assert fake_redis.pttl(job_key_prefix + later.job_id) > (at.timestamp() * 1000 - now)


def test_expires_and_queue_name(fake_redis):
    started = time.monotonic()
    handle = enqueue("add", 1, 2, _expires=30, _queue_name="other")
    assert handle is not None and handle.queue_name == "other"
    assert fake_redis.zscore("other", handle.job_id) is not None
    ttl = fake_redis.pttl(job_key_prefix + handle.job_id)
    elapsed_ms = (time.monotonic() - started) * 1000
    # fakeredis's PSETEX truncates the expiry time to a whole second (up to 1000 ms less TTL).
    assert 30_000 - 1000 - elapsed_ms <= ttl <= 30_000


def test_unknown_job_writes_nothing(fake_redis):
    with pytest.raises(JobNotRegistered, match="'nope'"):
        enqueue("nope", 1)
    assert written_keys(fake_redis) == []


def test_unserializable_argument_is_named_and_nothing_written(fake_redis):
    with pytest.raises(SerializationError) as err:
        enqueue("email", to="a@b.c", subject="s", body=object())
    message = str(err.value)
    assert "'email'" in message and "'body'" in message and "json" in message
    with pytest.raises(SerializationError, match="positional argument 1"):
        enqueue("add", 1, {2: "int key"})
    assert written_keys(fake_redis) == []


def test_both_defers_is_a_value_error_and_nothing_written(fake_redis):
    with pytest.raises(ValueError, match="_defer_until or _defer_by"):
        enqueue("add", 1, 2, _defer_by=10, _defer_until=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    with pytest.raises(ValueError, match="after 1970"):
        enqueue("add", 1, 2, _defer_until=dt.datetime(1969, 1, 1, tzinfo=dt.UTC))
    assert written_keys(fake_redis) == []


def test_errors_share_one_base():
    from arq_django import ArqDjangoError

    for exc in (EnqueueError, JobNotRegistered, SerializationError):
        assert issubclass(exc, ArqDjangoError)


@pytest.mark.parametrize("call", ["sync", "async"])
async def test_redis_unreachable_is_enqueue_error_within_timeout(settings, call):
    port = free_port()  # nothing listens here
    settings.ARQ_DJANGO = {**settings.ARQ_DJANGO, "REDIS_URL": f"redis://127.0.0.1:{port}/0"}
    started = time.monotonic()
    with pytest.raises(EnqueueError) as err:
        if call == "sync":
            enqueue("add", 1, 2)
        else:
            await aenqueue("add", 1, 2)
    assert time.monotonic() - started < 2.5
    assert "'add'" in str(err.value)


def test_enqueue_error_hides_password(settings):
    port = free_port()
    settings.ARQ_DJANGO = {**settings.ARQ_DJANGO, "REDIS_URL": f"redis://u:hunter2@127.0.0.1:{port}/0"}
    with pytest.raises(EnqueueError) as err:
        enqueue("add", 1, 2)
    assert "hunter2" not in str(err.value)


def test_blackholed_redis_times_out_not_hangs(settings):
    """A server that accepts and never answers: EnqueueError after the socket timeout, not a hang."""
    import socket

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        port = server.getsockname()[1]
        settings.ARQ_DJANGO = {
            **settings.ARQ_DJANGO,
            "REDIS_URL": f"redis://127.0.0.1:{port}/0",
            "SOCKET_TIMEOUT": 0.5,
        }
        started = time.monotonic()
        with pytest.raises(EnqueueError):
            enqueue("add", 1, 2)
        assert time.monotonic() - started < 2.5


@pytest.mark.integration
async def test_aenqueue_writes_the_same_record(redis_client):
    from arq_django.connection import aclose_pools

    handle = await aenqueue("echo", 1, when=dt.date(2020, 1, 1), _job_id=f"a-{uuid.uuid4().hex}")
    assert handle is not None
    job = deserialize_job(redis_client.get(job_key_prefix + handle.job_id), deserializer=JSON.loads)
    assert (job.function, list(job.args), job.kwargs) == ("echo", [1], {"when": dt.date(2020, 1, 1)})
    assert await aenqueue("echo", _job_id=handle.job_id) is None
    assert await handle.astatus() == JobStatus.queued
    with pytest.raises(ValueError):
        await aenqueue("echo", _defer_by=1, _defer_until=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    await aclose_pools()
    assert redis_client.zcard("arq:queue") == 1


def test_handle_from_an_id_uses_the_configured_queue(settings, fake_redis):
    settings.ARQ_DJANGO = {**settings.ARQ_DJANGO, "QUEUE": "custom"}
    handle = enqueue("add", 1, 2)
    assert handle is not None and handle.queue_name == "custom"
    assert JobHandle(handle.job_id).queue_name == "custom"
    assert JobHandle(handle.job_id).status() == JobStatus.queued


@pytest.mark.integration
def test_per_call_event_loops_do_not_pile_up_connections(redis_url, redis_client):
    import asyncio

    from arq_django import connection

    for i in range(30):
        asyncio.run(aenqueue("add", i, i))
    import gc

    gc.collect()
    assert len(connection._async_pools) <= 1
    assert redis_client.zcard("arq:queue") == 30
    db = redis_client.connection_pool.connection_kwargs.get("db", 0)
    assert len([c for c in redis_client.client_list() if int(c["db"]) == int(db)]) < 10


@pytest.mark.integration
async def test_enqueue_after_a_redis_restart_uses_a_fresh_connection(settings):
    """The pools' connections died with the old server: the first enqueue after the restart works
    (sync redis-py reconnects on checkout; the async pool needs arq_django's one fresh retry)."""
    import redis as redis_py

    from arq_django import embedded
    from arq_django.connection import aclose_pools

    port = embedded.free_port()
    server = embedded.start(port=port)
    settings.ARQ_DJANGO = {**settings.ARQ_DJANGO, "REDIS_URL": server.url}
    try:
        assert enqueue("add", 1, 1) is not None and await aenqueue("add", 1, 1) is not None
        server.stop()
        server = embedded.start(port=port)
        assert enqueue("add", 2, 2) is not None
        assert await aenqueue("add", 2, 2) is not None
        assert redis_py.Redis.from_url(server.url).zcard("arq:queue") == 2
    finally:
        await aclose_pools()
        server.stop()
