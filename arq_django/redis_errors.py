"""The errors that mean "Redis is unreachable right now" (restart, failover, network), as opposed to a
command Redis rejected: the worker waits these out instead of stopping."""

from __future__ import annotations

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

REDIS_DOWN: tuple[type[BaseException], ...] = (RedisConnectionError, RedisTimeoutError, OSError, TimeoutError)
