"""Redis connections: one pooled sync client per server and process, one asyncio client per server and
event loop.

A server is a :class:`~arq_django.connection.servers.RedisServer`: ``ARQ_DJANGO['REDIS_URL']`` for the
default queue and every queue without a server of its own, or a ``QUEUES`` entry's ``REDIS_URL``.
Sentinel-managed servers resolve their master through the sentinels on every new connection, so after
a failover the next connection (redis-py drops the broken ones) reaches the new master.

Plain redis-py clients, so the producer side runs without the ``arq`` package; the worker builds arq's
own pool in :mod:`arq_django.worker.redis_pool` (which needs ``arq-django[worker]``).
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import redis
from redis.asyncio import ConnectionPool as AsyncConnectionPool
from redis.asyncio import Redis as AsyncRedis
from redis.asyncio.sentinel import Sentinel as AsyncSentinel
from redis.asyncio.sentinel import SentinelConnectionPool as AsyncSentinelPool
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.sentinel import Sentinel, SentinelConnectionPool

from arq_django.conf import Config, get_config
from arq_django.connection.servers import RedisServer, is_certificate_error, redact_url

__all__ = [
    "REDIS_DOWN",
    "RedisServer",
    "aclose",
    "aclose_pools",
    "async_connections",
    "async_pool",
    "build_sync_client",
    "clients_for",
    "close_sync_clients",
    "redact_url",
    "redis_failure",
    "server_for",
    "servers",
    "sync_client",
]

REDIS_DOWN: tuple[type[BaseException], ...] = (RedisConnectionError, RedisTimeoutError, OSError, TimeoutError)
"""The errors that mean "Redis is unreachable right now" (restart, failover, network), as opposed to a
command Redis rejected: the worker waits these out instead of stopping."""

_sync_clients: dict[Any, redis.Redis] = {}
_sync_lock = threading.Lock()
# Keyed by loop: an asyncio pool's connections belong to the loop that opened them. A pool holds its
# loop alive, so a weak mapping would never drop entries; closed loops are purged instead.
_async_pools: dict[asyncio.AbstractEventLoop, dict[Any, AsyncRedis]] = {}


def server_for(queue: str | None = None, config: Config | None = None) -> RedisServer:
    """The server that holds ``queue`` (``None``: the default server, ``REDIS_URL``)."""
    config = config or get_config()
    if queue is None:
        return config.redis
    return config.queue_servers.get(queue, config.redis)


def servers(
    queues: list[str] | tuple[str, ...], config: Config | None = None
) -> list[tuple[RedisServer, list[str]]]:
    """``queues`` grouped by the server holding them, the default server first (always listed, even
    when no queue given lives there: workers and results of unknown queues are found there)."""
    config = config or get_config()
    groups: dict[RedisServer, list[str]] = {config.redis: []}
    for q in queues:
        groups.setdefault(server_for(q, config), []).append(q)
    return list(groups.items())


def clients_for(
    queues: list[str] | tuple[str, ...], config: Config | None = None
) -> list[tuple[redis.Redis, list[str]]]:
    """A sync client for each server holding some of ``queues``, with those queues; the default server
    always comes first (with no queues, perhaps), as :func:`servers` lists them."""
    config = config or get_config()
    return [
        (sync_client(config, queue=held[0] if held else None), held) for _, held in servers(queues, config)
    ]


def redis_failure(
    error: BaseException, config: Config | None = None, server: RedisServer | None = None
) -> str:
    """``Redis at <url> failed with <Type>: <message>`` for error messages (the URL without secrets;
    redis-py's own message loses its final full stop, so the caller's sentence can follow). A failed
    certificate check says which settings to fix."""
    server = server or (config or get_config()).redis
    detail = str(error).rstrip(". ")
    message = f"Redis at {server.label} failed with {type(error).__name__}: {detail}"
    if is_certificate_error(error):
        message += (
            " (the TLS certificate verification failed: ARQ_DJANGO['REDIS_SSL_CA_CERTS'] must name the CA "
            "that signed the server's certificate)"
        )
    return message


def _kwargs(server: RedisServer, config: Config, **extra: Any) -> dict[str, Any]:
    return {
        "socket_connect_timeout": config.connect_timeout,
        "socket_timeout": config.socket_timeout,
        **server.ssl_kwargs(),
        **extra,
    }


def _sentinel_kwargs(server: RedisServer, config: Config) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "socket_connect_timeout": config.connect_timeout,
        "socket_timeout": config.socket_timeout,
    }
    if server.sentinel_password is not None:
        kwargs["password"] = server.sentinel_password
    if server.sentinel_username is not None:
        kwargs["username"] = server.sentinel_username
    return kwargs


def _master_kwargs(server: RedisServer) -> dict[str, Any]:
    return {"db": server.db, "username": server.username, "password": server.password}


def build_sync_client(server: RedisServer, config: Config, **extra: Any) -> redis.Redis:
    """A new sync client for ``server`` (the caller owns it; :func:`sync_client` caches one)."""
    kwargs = _kwargs(server, config, **extra)
    if not server.is_sentinel:
        return redis.Redis.from_url(server.url, **kwargs)
    manager = Sentinel(list(server.sentinels), sentinel_kwargs=_sentinel_kwargs(server, config))  # type: ignore[no-untyped-call]
    pool = SentinelConnectionPool(server.master, manager, **kwargs, **_master_kwargs(server))  # type: ignore[no-untyped-call]
    return redis.Redis(connection_pool=pool)


def sync_client(config: Config | None = None, *, queue: str | None = None) -> redis.Redis:
    """The process-wide synchronous client for ``queue``'s server (thread-safe pool; redis-py
    reconnects after fork)."""
    config = config or get_config()
    server = server_for(queue, config)
    key = (server, config.connect_timeout, config.socket_timeout)
    client = _sync_clients.get(key)
    if client is None:
        with _sync_lock:
            client = _sync_clients.get(key)
            if client is None:
                client = _sync_clients[key] = build_sync_client(server, config)
    return client


def async_connections(server: RedisServer, config: Config, **extra: Any) -> AsyncConnectionPool:
    kwargs = _kwargs(server, config, **extra)
    if not server.is_sentinel:
        return AsyncConnectionPool.from_url(server.url, **kwargs)
    manager = AsyncSentinel(list(server.sentinels), sentinel_kwargs=_sentinel_kwargs(server, config))  # type: ignore[no-untyped-call]
    return AsyncSentinelPool(server.master, manager, **kwargs, **_master_kwargs(server))  # type: ignore[no-untyped-call]


def async_pool(config: Config | None = None, *, queue: str | None = None) -> AsyncRedis:
    """The running loop's asyncio client for ``queue``'s server, created on first use (connections open
    lazily)."""
    config = config or get_config()
    server = server_for(queue, config)
    loop = asyncio.get_running_loop()
    pools = _async_pools.get(loop)
    if pools is None:
        _purge_closed_loops()
        pools = _async_pools[loop] = {}
    key = (server, config.connect_timeout, config.socket_timeout)
    pool = pools.get(key)
    if pool is None:
        pool = pools[key] = AsyncRedis(connection_pool=async_connections(server, config))
    return pool


def _purge_closed_loops() -> None:
    """Forget pools of loops that have ended (``asyncio.run``, ``async_to_sync`` calls): their sockets
    are closed when the pools are collected, so per-call loops cannot pile up connections."""
    for loop in [loop for loop in _async_pools if loop.is_closed()]:
        del _async_pools[loop]


async def aclose(client: Any, *, close_connection_pool: bool | None = None) -> None:
    """Close an asyncio Redis client: ``aclose()`` from redis-py 5.0.1, ``close()`` before it (arq
    0.28 allows redis-py 4.x, and ``aclose`` is missing there)."""
    closer = getattr(client, "aclose", None) or client.close
    await closer(close_connection_pool=close_connection_pool)


async def aclose_pools() -> None:
    """Close the running loop's pools (call it before the loop ends, e.g. in ASGI lifespan or tests)."""
    pools = _async_pools.pop(asyncio.get_running_loop(), {})
    for pool in pools.values():
        await aclose(pool, close_connection_pool=True)


def close_sync_clients() -> None:
    """Drop the sync clients (tests switching Redis servers use this), and every thread's own
    connection to them (:mod:`arq_django.connection.owned`)."""
    from arq_django.connection import owned

    with _sync_lock:
        for client in _sync_clients.values():
            client.close()
        _sync_clients.clear()
        owned.close_all()
