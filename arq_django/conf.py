"""The ``ARQ_DJANGO`` settings dict, read lazily so ``override_settings`` works.

Every other module reads configuration through :func:`get_config`; nothing reads
``settings.ARQ_DJANGO`` at import time.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

DEFAULTS: dict[str, Any] = {
    "REDIS_URL": "redis://localhost:6379/0",
    "QUEUE": "arq:queue",
    "QUEUES": None,
    "JOB_MODULES": ["jobs"],
    "SERIALIZER": "json",
    "CONNECT_TIMEOUT": 2.0,
    "SOCKET_TIMEOUT": 5.0,
    "MAX_JOBS": 10,
    "JOB_TIMEOUT": 300,
    "KEEP_RESULT": 3600,
    "MAX_TRIES": 5,
    "POLL_DELAY": 0.5,
    "HEALTH_CHECK_INTERVAL": 60,
    "JOB_COMPLETION_WAIT": 10,
    "EXPIRES_EXTRA": 86400,
    "SYNC_THREADS": None,
    "MIRROR": True,
    "MIRROR_ON_ENQUEUE": True,
    "MIRROR_FLUSH_INTERVAL": 0.25,
    "MIRROR_BATCH_SIZE": 500,
    "MIRROR_RECONCILE_INTERVAL": 60,
    "RESULT_RETENTION": None,
}


def _seconds(name: str, value: Any) -> float:
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ImproperlyConfigured(
            f"ARQ_DJANGO[{name!r}] must be a number of seconds or a timedelta, got {value!r}."
        )
    if value < 0:
        raise ImproperlyConfigured(f"ARQ_DJANGO[{name!r}] must not be negative, got {value!r}.")
    return float(value)


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ImproperlyConfigured(f"ARQ_DJANGO[{name!r}] must be a whole number >= 1, got {value!r}.")
    return value


def _bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ImproperlyConfigured(f"ARQ_DJANGO[{name!r}] must be True or False, got {value!r}.")
    return value


def _str_list(name: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not all(isinstance(v, str) and v for v in value or ()):
        raise ImproperlyConfigured(
            f"ARQ_DJANGO[{name!r}] must be a list of non-empty strings, got {value!r}."
        )
    return tuple(value)


@dataclass(frozen=True)
class Config:
    """The validated ``ARQ_DJANGO`` settings."""

    redis_url: str = field(repr=False)
    """Where Redis lives (redis, rediss or unix URL); kept out of reprs: it may hold a password."""
    queue: str
    """The default queue's Redis key (arq's ``arq:queue``)."""
    queues: tuple[str, ...]
    """Every queue jobs may be routed to; the default queue is always among them."""
    job_modules: tuple[str, ...]
    """Module names imported from every installed app to register jobs."""
    serializer: str
    """``"json"``, ``"pickle"`` or a dotted path to an object with ``dumps``/``loads``."""
    connect_timeout: float
    socket_timeout: float
    max_jobs: int
    job_timeout: float
    keep_result: float
    max_tries: int
    poll_delay: float
    health_check_interval: float
    job_completion_wait: float
    expires_extra: float
    sync_threads: int
    mirror: bool
    """Keep a ``JobResult`` row per job up to date (the result mirror)."""
    mirror_on_enqueue: bool
    """``enqueue()`` creates the ``queued`` row; ``False`` leaves row creation to the worker."""
    mirror_flush_interval: float
    """Seconds between the worker's batched mirror writes."""
    mirror_batch_size: int
    """Buffered row updates that trigger a write before the interval is up."""
    mirror_reconcile_interval: float
    """Seconds between passes that fill rows from arq's result records (also run at worker start)."""
    result_retention: float | None
    """Seconds after which finished rows are pruned by a built-in hourly cron job; ``None``: never."""


def build_config(raw: Any) -> Config:
    """Validate a raw ``ARQ_DJANGO`` value; raises ``ImproperlyConfigured`` naming the bad key."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ImproperlyConfigured(f"ARQ_DJANGO must be a dict, got {type(raw).__name__}.")
    unknown = sorted(set(raw) - set(DEFAULTS))
    if unknown:
        # arq silently ignores unknown options; we do not, so a typo cannot hide.
        raise ImproperlyConfigured(
            f"ARQ_DJANGO has unknown keys {unknown}; known keys are {sorted(DEFAULTS)}."
        )
    v = {**DEFAULTS, **raw}
    url = v["REDIS_URL"]
    if not isinstance(url, str) or not url.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured(
            "ARQ_DJANGO['REDIS_URL'] must be a redis://, rediss:// or unix:// URL "
            "(e.g. 'redis://localhost:6379/0')."
        )
    queue = v["QUEUE"]
    if not isinstance(queue, str) or not queue:
        raise ImproperlyConfigured(f"ARQ_DJANGO['QUEUE'] must be a non-empty string, got {queue!r}.")
    queues = _str_list("QUEUES", v["QUEUES"]) if v["QUEUES"] is not None else ()
    if queue not in queues:
        queues = (queue, *queues)
    serializer = v["SERIALIZER"]
    if not isinstance(serializer, str) or not serializer:
        raise ImproperlyConfigured(
            "ARQ_DJANGO['SERIALIZER'] must be 'json', 'pickle' or a dotted path to an object with "
            "dumps/loads."
        )
    max_jobs = _positive_int("MAX_JOBS", v["MAX_JOBS"])
    sync_threads = v["SYNC_THREADS"]
    return Config(
        redis_url=url,
        queue=queue,
        queues=queues,
        job_modules=_str_list("JOB_MODULES", v["JOB_MODULES"]),
        serializer=serializer,
        connect_timeout=_seconds("CONNECT_TIMEOUT", v["CONNECT_TIMEOUT"]),
        socket_timeout=_seconds("SOCKET_TIMEOUT", v["SOCKET_TIMEOUT"]),
        max_jobs=max_jobs,
        job_timeout=_seconds("JOB_TIMEOUT", v["JOB_TIMEOUT"]),
        keep_result=_seconds("KEEP_RESULT", v["KEEP_RESULT"]),
        max_tries=_positive_int("MAX_TRIES", v["MAX_TRIES"]),
        poll_delay=_seconds("POLL_DELAY", v["POLL_DELAY"]),
        health_check_interval=_seconds("HEALTH_CHECK_INTERVAL", v["HEALTH_CHECK_INTERVAL"]),
        job_completion_wait=_seconds("JOB_COMPLETION_WAIT", v["JOB_COMPLETION_WAIT"]),
        expires_extra=_seconds("EXPIRES_EXTRA", v["EXPIRES_EXTRA"]),
        sync_threads=max_jobs if sync_threads is None else _positive_int("SYNC_THREADS", sync_threads),
        mirror=_bool("MIRROR", v["MIRROR"]),
        mirror_on_enqueue=_bool("MIRROR_ON_ENQUEUE", v["MIRROR_ON_ENQUEUE"]),
        mirror_flush_interval=_seconds("MIRROR_FLUSH_INTERVAL", v["MIRROR_FLUSH_INTERVAL"]),
        mirror_batch_size=_positive_int("MIRROR_BATCH_SIZE", v["MIRROR_BATCH_SIZE"]),
        mirror_reconcile_interval=_seconds("MIRROR_RECONCILE_INTERVAL", v["MIRROR_RECONCILE_INTERVAL"]),
        result_retention=_retention(v["RESULT_RETENTION"]),
    )


def _retention(value: Any) -> float | None:
    if value is None:
        return None
    seconds = _seconds("RESULT_RETENTION", value)
    if not seconds:
        raise ImproperlyConfigured(
            "ARQ_DJANGO['RESULT_RETENTION'] must be positive (or None to keep rows forever), got 0."
        )
    return seconds


@functools.cache
def get_config() -> Config:
    """The current configuration; cached until Django's ``setting_changed`` fires for ``ARQ_DJANGO``."""
    return build_config(getattr(settings, "ARQ_DJANGO", None))


@receiver(setting_changed)
def _reset(*, setting: str, **kwargs: Any) -> None:
    if setting == "ARQ_DJANGO":
        get_config.cache_clear()
