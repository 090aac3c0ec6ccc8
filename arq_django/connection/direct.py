"""Commands on a pooled asyncio connection without redis-py's per-command machinery, for the hot calls:
``aenqueue()``'s script, the worker's claim and finish scripts and its outcome figures.

redis-py's ``execute_command`` takes the pool's lock, makes sure the connection holds no unread data
(a non-blocking read on every checkout), wraps the write in ``asyncio.wait_for`` (a task of its own on
Python 3.11) and packs the command in Python. Here the commands are packed (by hiredis when it is
installed, as it is with the worker), written at once and their replies read in order, the connection
taken from and given back to the same pool, so the pool's limits, its ``disconnect()`` and a
Sentinel pool's master lookup all still apply.

A connection never goes back to the pool with a reply in it: a refused command (``NOSCRIPT``, a wrong
type) is a whole reply read, anything else short of a reply (a timeout, a broken connection, a
cancellation) disconnects it first. A connection the server closed while it sat in the pool (a Redis
restart, an idle timeout) is seen closed before the command is written (the event loop has read the
end of its stream) and connects again, as redis-py's checkout would have. Without
``get_available_connection`` (redis-py before 5.0.1) the command goes through ``execute_command``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

import redis
from redis.asyncio import Redis as AsyncRedis
from redis.asyncio.connection import AbstractConnection

_hiredis_pack: Callable[[tuple[Any, ...]], bytes] | None
try:
    from hiredis import pack_command as _hiredis_pack
except ImportError:  # pragma: no cover - the worker's arq always brings hiredis
    _hiredis_pack = None


def _packed(connection: AbstractConnection, args: tuple[Any, ...]) -> list[bytes]:
    if _hiredis_pack is not None:
        try:
            return [_hiredis_pack(args)]
        except TypeError as e:
            raise redis.DataError(str(e)) from e
    return connection.pack_command(*args)


def _stale(connection: AbstractConnection) -> bool:
    """Whether ``connection`` cannot carry a command: never connected, or closed by the server while it
    sat in the pool (the event loop has already seen the end of its stream)."""
    writer, reader = getattr(connection, "_writer", None), getattr(connection, "_reader", None)
    return writer is None or reader is None or writer.transport.is_closing() or reader.at_eof()


async def _round_trip(connection: AbstractConnection, commands: Sequence[tuple[Any, ...]]) -> list[Any]:
    """Send ``commands`` in one write and read one reply each; a refused command's error is its reply,
    raised (the first of them) once every reply is read."""
    if _stale(connection):
        await connection.disconnect(nowait=True)
        await connection.connect()  # type: ignore[no-untyped-call]
    packed = [chunk for args in commands for chunk in _packed(connection, args)]
    writer = getattr(connection, "_writer", None)
    if writer is None:  # a connection class of another shape: its own send path
        await connection.send_packed_command(packed, check_health=False)
    else:
        writer.writelines(packed)
    replies: list[Any] = []
    for _ in commands:
        try:
            replies.append(await connection.read_response())
        except redis.ResponseError as e:
            replies.append(e)
    for reply in replies:
        if isinstance(reply, redis.ResponseError):
            raise reply
    return replies


def _checkout(pool: Any) -> Callable[[], AbstractConnection] | None:
    """The pool's checkout without its checks; ``None`` before redis-py 5.0.1, which has none."""
    return getattr(pool, "get_available_connection", None)


async def execute_many(client: AsyncRedis, commands: Sequence[tuple[Any, ...]]) -> list[Any]:
    """Run ``commands`` as one pipeline (not a transaction) on a connection of ``client``'s pool and
    return their replies as the connection reads them (no response callbacks); a refused command
    raises its error once every reply is read."""
    pool = client.connection_pool
    take = _checkout(pool)
    if take is None:
        async with client.pipeline(transaction=False) as pipe:
            for args in commands:
                pipe.execute_command(*args)
            return await pipe.execute()
    connection = take()
    try:
        replies = await _round_trip(connection, commands)
    except redis.ResponseError:
        await pool.release(connection)  # every reply was read: the connection is clean
        raise
    except BaseException:
        try:
            await connection.disconnect(nowait=True)
        finally:
            await pool.release(connection)
        raise
    await pool.release(connection)
    return replies


async def execute(client: AsyncRedis, *args: Any) -> Any:
    """Run one command on a connection of ``client``'s pool and return Redis's reply as the connection
    reads it (no response callback: for ``EVALSHA`` and the like)."""
    if _checkout(client.connection_pool) is None:
        return await client.execute_command(*args)  # type: ignore[no-untyped-call]
    return (await execute_many(client, (args,)))[0]


async def run_script(client: AsyncRedis, sha: str, script: str, *args: Any) -> Any:
    """``EVALSHA sha *args`` (``args``: the key count, the keys, then the script's arguments) of
    ``script``, whose SHA-1 is ``sha``; after a Redis restart or ``SCRIPT FLUSH`` (``NOSCRIPT``) it is
    sent as ``EVAL``, which loads it again."""
    try:
        return await execute(client, "EVALSHA", sha, *args)
    except redis.exceptions.NoScriptError:
        return await execute(client, "EVAL", script, *args)


class Script:
    """A Lua script on one client, called like redis-py's ``AsyncScript`` (``await s(keys=, args=)``)
    and run by :func:`run_script`."""

    def __init__(self, client: AsyncRedis, source: str) -> None:
        self.client = client
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()

    async def __call__(self, keys: Sequence[Any] = (), args: Sequence[Any] = ()) -> Any:
        return await run_script(self.client, self.sha, self.source, len(keys), *keys, *args)
