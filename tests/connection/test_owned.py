"""Each thread's own connection for enqueue(): one per thread, kept clean, dropped on any failure that
may have left a reply behind, new after a fork or close_sync_clients()."""

from __future__ import annotations

import multiprocessing
import threading

import pytest
import redis

from arq_django import enqueue
from arq_django.connection import close_sync_clients, owned, sync_client

pytestmark = pytest.mark.integration


def _client_id(client: redis.Redis) -> int:
    return int(owned.execute(client, "CLIENT", "ID"))


def test_one_connection_per_thread_and_no_pool_checkout(redis_url: str) -> None:
    client = sync_client()
    first = _client_id(client)
    for i in range(20):
        enqueue("add", i, 1)
    assert _client_id(client) == first  # every call on the same connection
    assert client.connection_pool._in_use_connections == set()  # none taken from the pool
    other: list[int] = []
    thread = threading.Thread(target=lambda: other.append(_client_id(client)))
    thread.start()
    thread.join()
    assert other and other[0] != first


def test_a_refused_command_keeps_the_connection(redis_url: str, redis_client: redis.Redis) -> None:
    client = sync_client()
    first = _client_id(client)
    redis_client.set("a-string", "x")
    with pytest.raises(redis.ResponseError):
        owned.execute(client, "LPUSH", "a-string", "y")  # WRONGTYPE: a whole reply, read
    assert _client_id(client) == first


def test_a_timed_out_command_leaves_no_reply_behind(redis_url: str, redis_client: redis.Redis) -> None:
    """The reply to a command cut short by the client's timeout must not be read as the next one's."""
    client = redis.Redis.from_url(redis_url, socket_timeout=0.1)
    first = _client_id(client)
    with pytest.raises(redis.TimeoutError):
        owned.execute(client, "BLPOP", "never-pushed", 1)
    redis_client.lpush("never-pushed", "late")  # would answer the BLPOP if its connection were kept
    assert owned.execute(client, "ECHO", "mine") == b"mine"
    assert _client_id(client) != first
    assert redis_client.lrange("never-pushed", 0, -1) == [b"late"]
    client.close()


def test_a_killed_connection_is_replaced_and_enqueue_still_works(
    redis_url: str, redis_client: redis.Redis
) -> None:
    """A Redis restart (here: the server closing the connection) costs the next enqueue() nothing: its
    first try fails at once on the dead connection, the retry opens a new one."""
    client = sync_client()
    first = _client_id(client)
    redis_client.client_kill_filter(_id=first)
    handle = enqueue("add", 1, 2)
    assert handle is not None and redis_client.exists(f"arq:job:{handle.job_id}")
    assert _client_id(client) != first


_PARENT: list[redis.Redis] = []


def _child_client_id(out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    out.put(_client_id(_PARENT[0]))  # the parent's client, as a forked web worker inherits it


def test_a_forked_child_opens_its_own(redis_url: str) -> None:
    client = sync_client()
    _PARENT[:] = [client]
    parent = _client_id(client)
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    child = ctx.Process(target=_child_client_id, args=(out,))
    child.start()
    child.join(30)
    assert child.exitcode == 0
    assert out.get(timeout=5) != parent
    assert _client_id(client) == parent  # the parent's connection was not disturbed


def test_close_sync_clients_closes_every_threads_connection(
    redis_url: str, redis_client: redis.Redis
) -> None:
    client = sync_client()
    first = _client_id(client)
    close_sync_clients()
    ids = {int(c["id"]) for c in redis_client.client_list()}
    assert first not in ids
    assert _client_id(sync_client()) != first
