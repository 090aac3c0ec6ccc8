"""Redis connections: one pooled sync client per process, one asyncio client per event loop.

Plain redis-py clients, so the producer side runs without the ``arq`` package; the worker builds arq's
own pool from :func:`redis_settings` (which needs ``arq-django[worker]``)."""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import redis
from redis.asyncio import ConnectionPool as AsyncConnectionPool
from redis.asyncio import Redis as AsyncRedis
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from arq_django.conf import Config, get_config

if TYPE_CHECKING:
    from arq.connections import RedisSettings

REDIS_DOWN: tuple[type[BaseException], ...] = (RedisConnectionError, RedisTimeoutError, OSError, TimeoutError)
"""The errors that mean "Redis is unreachable right now" (restart, failover, network), as opposed to a
command Redis rejected: the worker waits these out instead of stopping."""

_sync_clients: dict[tuple[str, float, float], redis.Redis] = {}
_sync_lock = threading.Lock()
WORKER_REDIS_RETRIES = 20
# Keyed by loop: an asyncio pool's connections belong to the loop that opened them. A pool holds its
# loop alive, so a weak mapping would never drop entries; closed loops are purged instead.
_async_pools: dict[asyncio.AbstractEventLoop, dict[str, AsyncRedis]] = {}


_SECRET_PARAMS = ("pass", "pwd", "secret", "token", "auth", "key", "credential")
"""A query parameter whose name holds one of these (``password``, ``api_key``...) is masked."""


def _redact_query(query: str) -> str:
    pairs = parse_qsl(query, keep_blank_values=True)
    return urlencode(
        [(k, "***" if any(s in k.lower() for s in _SECRET_PARAMS) else v) for k, v in pairs], safe="*"
    )


def redact_url(url: str) -> str:
    """The URL without user name, password or secret-bearing query parameters (``?password=``), for
    logs and error messages."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.username is not None or parts.password is not None:
        netloc = "***@" + netloc.rpartition("@")[2]
    query = _redact_query(parts.query) if parts.query else ""
    # Built by hand: urlunsplit drops the empty authority of unix:///path.
    return f"{parts.scheme}://{netloc}{parts.path}" + (f"?{query}" if query else "")


def redis_failure(error: BaseException, config: Config | None = None) -> str:
    """``Redis at <url> failed with <Type>: <message>`` for error messages (the URL without secrets;
    redis-py's own message loses its final full stop, so the caller's sentence can follow)."""
    config = config or get_config()
    detail = str(error).rstrip(". ")
    return f"Redis at {redact_url(config.redis_url)} failed with {type(error).__name__}: {detail}"


def sync_client(config: Config | None = None) -> redis.Redis:
    """The process-wide synchronous client (thread-safe pool; redis-py reconnects after fork)."""
    config = config or get_config()
    key = (config.redis_url, config.connect_timeout, config.socket_timeout)
    client = _sync_clients.get(key)
    if client is None:
        with _sync_lock:
            client = _sync_clients.get(key)
            if client is None:
                client = redis.Redis.from_url(
                    config.redis_url,
                    socket_connect_timeout=config.connect_timeout,
                    socket_timeout=config.socket_timeout,
                )
                _sync_clients[key] = client
    return client


def redis_settings(config: Config | None = None) -> RedisSettings:
    """arq's ``RedisSettings`` for the configured URL and timeouts (the worker's; needs arq)."""
    from arq.connections import RedisSettings

    config = config or get_config()
    settings = RedisSettings.from_dsn(config.redis_url)
    settings.conn_timeout = config.connect_timeout  # type: ignore[assignment]
    # A worker rides out a Redis restart or failover (~15 s of retries with backoff) instead of
    # crashing on its first failed command; arq itself retries only the initial connect.
    settings.retry = AsyncRetry(ExponentialBackoff(cap=1.0, base=0.05), WORKER_REDIS_RETRIES)
    settings.retry_on_error = [redis.ConnectionError, redis.TimeoutError]
    return settings


def async_pool(config: Config | None = None) -> AsyncRedis:
    """The running loop's asyncio client, created on first use (connections open lazily)."""
    config = config or get_config()
    loop = asyncio.get_running_loop()
    pools = _async_pools.get(loop)
    if pools is None:
        _purge_closed_loops()
        pools = _async_pools[loop] = {}
    pool = pools.get(config.redis_url)
    if pool is None:
        connections = AsyncConnectionPool.from_url(
            config.redis_url,
            socket_connect_timeout=config.connect_timeout,
            socket_timeout=config.socket_timeout,
        )
        pool = AsyncRedis(connection_pool=connections)
        pools[config.redis_url] = pool
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
    """Drop the sync clients (tests switching Redis servers use this)."""
    with _sync_lock:
        for client in _sync_clients.values():
            client.close()
        _sync_clients.clear()
