"""The ``ARQ_DJANGO`` settings dict, read lazily so ``override_settings`` works.

Every other module reads configuration through :func:`get_config`; nothing reads
``settings.ARQ_DJANGO`` at import time.
"""

from __future__ import annotations

import difflib
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
    "HEALTH_CHECK_INTERVAL": None,
    "JOB_COMPLETION_WAIT": 10,
    "EXPIRES_EXTRA": 86400,
    "SYNC_THREADS": None,
    "SYNC_OVERRUN_LIMIT": None,
    "PRIORITY_STEP": 0.1,
    "LIST_SOURCES": [],
    "LIST_LEASE": 30,
    # Health, heartbeats, operations API and metrics (see health/, heartbeat.py, views/).
    "HEARTBEAT_INTERVAL": 5.0,
    "HEALTH_TIMEOUT": 1.0,
    "HEALTH_CHECKS": ["redis", "database", "workers", "backlog"],
    "HEALTH_MIN_WORKERS": None,
    "HEALTH_MAX_BACKLOG": None,
    "HEALTH_MAX_BACKLOG_AGE": None,
    "API_TOKENS": [],
    "API_ENQUEUE_ALLOWED": [],
    "METRICS_TOKENS": None,
    "LOG_JOBS": True,
    "BURST_WAIT_DEFERRED": False,
    "MIRROR": True,
    "MIRROR_ON_ENQUEUE": True,
    "MIRROR_FLUSH_INTERVAL": 0.25,
    "MIRROR_BATCH_SIZE": 500,
    "MIRROR_RECONCILE_INTERVAL": 60,
    "RESULT_RETENTION": None,
}

HEALTH_CHECK_NAMES = ("redis", "database", "workers", "backlog")


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


def _positive_seconds(name: str, value: Any) -> float:
    seconds = _seconds(name, value)
    if seconds <= 0:
        raise ImproperlyConfigured(f"ARQ_DJANGO[{name!r}] must be more than 0 seconds, got {value!r}.")
    return seconds


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


def _secret_list(name: str, value: Any) -> tuple[str, ...]:
    """:func:`_str_list` for tokens: an error names the setting and the value's type, never the value."""
    try:
        if not isinstance(value, (list, tuple)):
            raise TypeError(name)
        return _str_list(name, value)
    except (ImproperlyConfigured, TypeError):
        # `from None`: the chained error would print the tokens in every traceback.
        raise ImproperlyConfigured(
            f"ARQ_DJANGO[{name!r}] must be a list of non-empty strings, got a {type(value).__name__} "
            "(its value is not shown: it holds secrets)."
        ) from None


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
    priority_step: float = 0.1
    """Seconds of queue age one priority step is worth (see :mod:`arq_django.jobs.priority`)."""
    queues_listed: bool = False
    """``QUEUES`` was given: only those queues are known (else the default and the routed ones)."""
    list_sources: tuple[str, ...] = ()
    """Redis lists of ``{"type": ..., "data": {...}}`` messages the worker ingests as jobs."""
    list_lease: float = 30.0
    """Seconds a list ingester's claim outlives its last heartbeat; then others recover its messages."""
    heartbeat_interval: float = 5.0
    """Seconds between a worker's heartbeats; a heartbeat key expires after three intervals."""
    health_timeout: float = 1.0
    """The time budget of one health report: every check answers within it or fails."""
    health_checks: tuple[str, ...] = HEALTH_CHECK_NAMES
    """The checks a health report runs; each one must pass for status ``ok``."""
    health_min_workers: dict[str, int] = field(default_factory=dict, hash=False)
    """Live workers required per queue; ``"*"`` applies to every known queue not named."""
    health_max_backlog: dict[str, int] = field(default_factory=dict, hash=False)
    """Most due-but-waiting jobs allowed per queue (``"*"``: every queue; else no limit)."""
    health_max_backlog_age: dict[str, float] = field(default_factory=dict, hash=False)
    """Longest a due job may wait, per queue, in seconds (``"*"``: every queue; else no limit)."""
    api_tokens: tuple[str, ...] = field(default=(), repr=False)
    """Bearer tokens accepted by the JSON API (and the metrics endpoint unless it has its own)."""
    api_enqueue_allowed: tuple[str, ...] = ()
    """Job names the API may enqueue; nothing else can be enqueued over HTTP."""
    metrics_tokens: tuple[str, ...] | None = field(default=None, repr=False)
    """Bearer tokens for ``metrics``; ``None`` means the API's tokens and staff sessions."""
    log_jobs: bool = True
    """Log arq's start and end line for every job at INFO (errors and warnings are always logged)."""
    burst_wait_deferred: bool = False
    """``--burst`` waits for deferred jobs too (arq's rule) instead of leaving them to the next worker."""
    sync_overrun_limit: int | None = None
    """Sync-job threads still running past their job's end that make the worker stop itself (``None``:
    never)."""


def build_config(raw: Any) -> Config:
    """Validate a raw ``ARQ_DJANGO`` value; raises ``ImproperlyConfigured`` naming every bad key."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ImproperlyConfigured(f"ARQ_DJANGO must be a dict, got {type(raw).__name__}.")
    # arq silently ignores unknown options; we do not, so a typo cannot hide.
    unknown = sorted(set(raw) - set(DEFAULTS), key=str)
    problems = [_unknown_keys(unknown)] if unknown else []
    known = {k: raw[k] for k in raw if k in DEFAULTS}
    try:
        config = _build({**DEFAULTS, **known})
    except ImproperlyConfigured as e:
        # Validate each key alone too, so one run of `check` reports every bad value, not the first.
        alone = [str(p) for k in known if (p := _problem({**DEFAULTS, k: known[k]}))]
        problems += alone or [str(e)]
    if problems:
        raise ImproperlyConfigured(" ".join(problems))
    return config


def _unknown_keys(unknown: list[Any]) -> str:
    guesses, lost = [], []
    for key in unknown:
        close = difflib.get_close_matches(str(key).upper(), DEFAULTS, n=1)
        if close:
            guesses.append(f"for {key!r} did you mean {close[0]!r}?")
        else:
            lost.append(key)
    if lost:
        guesses.append(f"{lost} resemble no known key; known keys are {sorted(DEFAULTS)}.")
    return f"ARQ_DJANGO has unknown keys {unknown}: " + " ".join(guesses)


def _problem(values: dict[str, Any]) -> ImproperlyConfigured | None:
    try:
        _build(values)
    except ImproperlyConfigured as e:
        return e
    return None


def _build(v: dict[str, Any]) -> Config:
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
    overruns = v["SYNC_OVERRUN_LIMIT"]  # None: never
    heartbeat_interval = _positive_seconds("HEARTBEAT_INTERVAL", v["HEARTBEAT_INTERVAL"])
    # arq's `<queue>:health-check` key (read by `arq --check`) follows the heartbeat unless set.
    health_check_interval = (
        heartbeat_interval
        if v["HEALTH_CHECK_INTERVAL"] is None
        else _seconds("HEALTH_CHECK_INTERVAL", v["HEALTH_CHECK_INTERVAL"])
    )
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
        health_check_interval=health_check_interval,
        job_completion_wait=_seconds("JOB_COMPLETION_WAIT", v["JOB_COMPLETION_WAIT"]),
        expires_extra=_seconds("EXPIRES_EXTRA", v["EXPIRES_EXTRA"]),
        sync_threads=max_jobs if sync_threads is None else _positive_int("SYNC_THREADS", sync_threads),
        priority_step=_seconds("PRIORITY_STEP", v["PRIORITY_STEP"]),
        queues_listed=v["QUEUES"] is not None,
        list_sources=_str_list("LIST_SOURCES", v["LIST_SOURCES"]),
        list_lease=_lease(v["LIST_LEASE"]),
        heartbeat_interval=heartbeat_interval,
        **_health_options(v, queue),
        log_jobs=_bool("LOG_JOBS", v["LOG_JOBS"]),
        burst_wait_deferred=_bool("BURST_WAIT_DEFERRED", v["BURST_WAIT_DEFERRED"]),
        sync_overrun_limit=None if overruns is None else _positive_int("SYNC_OVERRUN_LIMIT", overruns),
        mirror=_bool("MIRROR", v["MIRROR"]),
        mirror_on_enqueue=_bool("MIRROR_ON_ENQUEUE", v["MIRROR_ON_ENQUEUE"]),
        mirror_flush_interval=_seconds("MIRROR_FLUSH_INTERVAL", v["MIRROR_FLUSH_INTERVAL"]),
        mirror_batch_size=_positive_int("MIRROR_BATCH_SIZE", v["MIRROR_BATCH_SIZE"]),
        mirror_reconcile_interval=_seconds("MIRROR_RECONCILE_INTERVAL", v["MIRROR_RECONCILE_INTERVAL"]),
        result_retention=_retention(v["RESULT_RETENTION"]),
    )


def _lease(value: Any) -> float:
    lease = _seconds("LIST_LEASE", value)
    if lease < 1:
        raise ImproperlyConfigured(f"ARQ_DJANGO['LIST_LEASE'] must be at least 1 second, got {value!r}.")
    return lease


def _per_queue(name: str, value: Any, convert: Any) -> dict[str, Any]:
    """``None`` → ``{}``; one number → ``{"*": n}`` (every queue); a dict → the queues it names."""
    if value is None:
        return {}
    if isinstance(value, dict):
        if not all(isinstance(k, str) and k for k in value):
            raise ImproperlyConfigured(f"ARQ_DJANGO[{name!r}] keys must be queue names, got {value!r}.")
        return {k: convert(name, v) for k, v in value.items()}
    return {"*": convert(name, value)}


def _count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ImproperlyConfigured(f"ARQ_DJANGO[{name!r}] must hold whole numbers >= 0, got {value!r}.")
    return value


def _health_options(v: dict[str, Any], queue: str) -> dict[str, Any]:
    checks = _str_list("HEALTH_CHECKS", v["HEALTH_CHECKS"])
    unknown = sorted(set(checks) - set(HEALTH_CHECK_NAMES))
    if unknown:
        raise ImproperlyConfigured(
            f"ARQ_DJANGO['HEALTH_CHECKS'] has unknown checks {unknown}; known: {list(HEALTH_CHECK_NAMES)}."
        )
    min_workers = v["HEALTH_MIN_WORKERS"]
    metrics_tokens = v["METRICS_TOKENS"]
    return {
        "health_timeout": _positive_seconds("HEALTH_TIMEOUT", v["HEALTH_TIMEOUT"]),
        "health_checks": checks,
        # By default one live worker is required on the default queue.
        "health_min_workers": (
            {queue: 1} if min_workers is None else _per_queue("HEALTH_MIN_WORKERS", min_workers, _count)
        ),
        "health_max_backlog": _per_queue("HEALTH_MAX_BACKLOG", v["HEALTH_MAX_BACKLOG"], _count),
        "health_max_backlog_age": _per_queue("HEALTH_MAX_BACKLOG_AGE", v["HEALTH_MAX_BACKLOG_AGE"], _seconds),
        "api_tokens": _secret_list("API_TOKENS", v["API_TOKENS"]),
        "api_enqueue_allowed": _str_list("API_ENQUEUE_ALLOWED", v["API_ENQUEUE_ALLOWED"]),
        "metrics_tokens": None if metrics_tokens is None else _secret_list("METRICS_TOKENS", metrics_tokens),
    }


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
