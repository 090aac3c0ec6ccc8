"""The worker's Redis: arq's ``RedisSettings`` for one of our servers (what arq's own tools, ``arq
--check`` and the settings class, read) plus the :class:`RedisServer` the worker builds its ``ArqRedis``
pool from, Sentinel and TLS included."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import redis
from arq.connections import ArqRedis, RedisSettings, create_pool
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialBackoff

from arq_django.conf import Config, get_config
from arq_django.connection import async_connections, server_for
from arq_django.connection.servers import RedisServer

WORKER_REDIS_RETRIES = 20


@dataclass
class ServerSettings(RedisSettings):
    """``RedisSettings`` that remember the server they describe (its Sentinel set, TLS files)."""

    server: RedisServer | None = field(default=None, repr=False)


def worker_settings(server: RedisServer, config: Config) -> ServerSettings:
    if server.is_sentinel:
        settings = ServerSettings(
            host=list(server.sentinels),  # type: ignore[arg-type]
            sentinel=True,
            sentinel_master=server.master,
            database=server.db,
            username=server.username,
            password=server.password,
        )
    else:
        base = RedisSettings.from_dsn(server.url)
        settings = ServerSettings(**{k: getattr(base, k) for k in base.__dataclass_fields__})
        for name, value in server.ssl:
            setattr(settings, name, value)
    settings.server = server
    settings.conn_timeout = config.connect_timeout  # type: ignore[assignment]
    # A worker rides out a Redis restart or failover (~15 s of retries with backoff) instead of
    # crashing on its first failed command; arq itself retries only the initial connect.
    settings.retry = AsyncRetry(ExponentialBackoff(cap=1.0, base=0.05), WORKER_REDIS_RETRIES)
    settings.retry_on_error = [redis.ConnectionError, redis.TimeoutError]
    return settings


def redis_settings(config: Config | None = None, queue: str | None = None) -> RedisSettings:
    """arq's ``RedisSettings`` for ``queue``'s server, URL and timeouts (a :class:`ServerSettings`:
    :func:`open_worker_pool` builds the worker's pool from its server, Sentinel and TLS included)."""
    config = config or get_config()
    return worker_settings(server_for(queue, config), config)


async def open_worker_pool(settings: RedisSettings | None, **options: Any) -> ArqRedis:
    """The worker's ``ArqRedis``: from our server description for :class:`ServerSettings` (retrying a
    failed command through a Redis restart or failover, ~15 s with backoff; arq itself retries only the
    initial connect), else arq's ``create_pool`` (plain arq ``RedisSettings`` given by hand)."""
    if not isinstance(settings, ServerSettings) or settings.server is None:
        return await create_pool(settings, **options)
    config = get_config()
    connections = async_connections(
        settings.server,
        config,
        retry=AsyncRetry(ExponentialBackoff(cap=1.0, base=0.05), WORKER_REDIS_RETRIES),
        retry_on_error=[redis.ConnectionError, redis.TimeoutError],
        # No client read timeout, as arq's own pool: a worker's commands are bounded by its job timeouts
        # and the wake listener's own deadline; SOCKET_TIMEOUT on this pool stalled workers under load.
        socket_timeout=None,
    )
    pool = ArqRedis(
        connection_pool=connections,
        default_queue_name=options.get("default_queue_name", config.queue),
        job_serializer=options.get("job_serializer"),
        job_deserializer=options.get("job_deserializer"),
        expires_extra_ms=options.get("expires_extra_ms", 86_400_000),
    )
    await pool.ping()
    return pool
