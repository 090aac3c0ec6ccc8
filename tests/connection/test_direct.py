"""Commands on pooled asyncio connections without redis-py's per-command checkout: the reply is Redis's,
the connection goes back to its pool clean, a refused command keeps it, anything cut short of a reply
drops it, and one the server closed while idle is replaced before the command is written."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
import redis
from redis.asyncio import Redis as AsyncRedis

from arq_django.connection import direct

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture
async def client(redis_url: str) -> AsyncIterator[AsyncRedis]:
    c = AsyncRedis.from_url(redis_url)
    yield c
    await c.aclose()


async def _client_id(client: AsyncRedis) -> int:
    return int(await direct.execute(client, "CLIENT", "ID"))


def _idle(client: AsyncRedis) -> list[object]:
    return list(client.connection_pool._available_connections)


async def test_the_reply_is_redis_own_and_the_connection_goes_back(client: AsyncRedis) -> None:
    assert await direct.execute(client, "SET", "k", "v") == b"OK"  # no response callback: raw reply
    assert await direct.execute(client, "GET", "k") == b"v"
    first = await _client_id(client)
    assert await _client_id(client) == first  # the same pooled connection, taken and given back
    assert len(_idle(client)) == 1 and not client.connection_pool._in_use_connections


async def test_concurrent_commands_take_connections_of_their_own(client: AsyncRedis, redis_url: str) -> None:
    pusher = AsyncRedis.from_url(redis_url)
    waiting = asyncio.ensure_future(direct.execute(client, "BLPOP", "later", 5))
    await asyncio.sleep(0)
    assert await direct.execute(client, "ECHO", "meanwhile") == b"meanwhile"
    await pusher.lpush("later", "x")
    assert await asyncio.wait_for(waiting, 5) == [b"later", b"x"]
    assert len(_idle(client)) == 2
    await pusher.aclose()


async def test_a_refused_command_raises_and_keeps_the_connection(client: AsyncRedis) -> None:
    await direct.execute(client, "SET", "a-string", "x")
    first = await _client_id(client)
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        await direct.execute(client, "LPUSH", "a-string", "y")
    assert await _client_id(client) == first


async def test_a_cancelled_command_leaves_no_reply_behind(client: AsyncRedis, redis_url: str) -> None:
    """The reply to a command cut short must never be read as the next command's."""
    first = await _client_id(client)
    waiting = asyncio.ensure_future(direct.execute(client, "BLPOP", "never-pushed", 2))
    await asyncio.sleep(0.05)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    pusher = redis.Redis.from_url(redis_url)
    pusher.lpush("never-pushed", "late")  # would answer the BLPOP if its connection were kept
    assert await direct.execute(client, "ECHO", "mine") == b"mine"
    assert await _client_id(client) != first
    assert pusher.lrange("never-pushed", 0, -1) == [b"late"]
    pusher.close()


async def test_a_connection_the_server_closed_while_idle_is_replaced(
    client: AsyncRedis, redis_url: str
) -> None:
    first = await _client_id(client)
    killer = redis.Redis.from_url(redis_url)
    killer.client_kill_filter(_id=first)
    killer.close()
    idle = _idle(client)[0]

    async def closed() -> bool:
        return direct._stale(idle)  # type: ignore[arg-type]

    for _ in range(200):  # the loop reads the end of the stream when it next runs
        if await closed():
            break
        await asyncio.sleep(0.01)
    assert await closed()
    assert await direct.execute(client, "ECHO", "again") == b"again"  # no error reaches the caller
    assert await _client_id(client) != first


async def test_a_pipeline_answers_in_order_and_a_refusal_comes_after_every_reply(client: AsyncRedis) -> None:
    assert await direct.execute_many(client, [("SET", "a", "1"), ("INCRBY", "a", 2), ("GET", "a")]) == [
        b"OK",
        3,
        b"3",
    ]
    await direct.execute(client, "SET", "s", "x")
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        await direct.execute_many(client, [("INCR", "n"), ("LPUSH", "s", "y"), ("INCR", "n")])
    assert await direct.execute(client, "GET", "n") == b"2"  # both ran; no reply was left unread


async def test_a_script_is_loaded_again_after_script_flush(client: AsyncRedis) -> None:
    source = "return ARGV[1] .. KEYS[1]"
    script = direct.Script(client, source)
    assert script.sha == hashlib.sha1(source.encode()).hexdigest()
    assert await script(keys=["k"], args=["v"]) == b"vk"
    await direct.execute(client, "SCRIPT", "FLUSH")
    assert await script(keys=["k"], args=["w"]) == b"wk"  # NOSCRIPT, then EVAL
    assert await direct.execute(client, "SCRIPT", "EXISTS", script.sha) == [1]


async def test_values_redis_py_would_refuse_are_refused(client: AsyncRedis) -> None:
    with pytest.raises(redis.DataError):
        await direct.execute(client, "SET", "k", None)
    assert await direct.execute(client, "ECHO", "fine") == b"fine"


async def test_a_pool_without_the_checkout_hook_goes_through_execute_command(
    client: AsyncRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """redis-py before 5.0.1 has no ``get_available_connection``: the plain path, same replies."""
    calls: list[tuple[object, ...]] = []
    plain = client.execute_command

    async def counted(*args: object, **options: object) -> object:
        calls.append(args)
        return await plain(*args, **options)

    monkeypatch.setattr(client, "execute_command", counted)
    monkeypatch.setattr(direct, "_checkout", lambda pool: None)
    assert await direct.execute(client, "ECHO", "old") == b"old"
    assert await direct.execute_many(client, [("ECHO", "a"), ("ECHO", "b")]) == [b"a", b"b"]
    assert calls[0] == ("ECHO", "old")
