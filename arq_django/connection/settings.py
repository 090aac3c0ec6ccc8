"""arq's ``RedisSettings`` for one of our servers: what arq's own tools (``arq --check``, the settings
class) read, plus the :class:`RedisServer` our worker builds its pool from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import redis
from arq.connections import RedisSettings
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialBackoff

from arq_django.connection.servers import RedisServer

if TYPE_CHECKING:
    from arq_django.conf import Config

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
