"""The ``ARQ_DJANGO`` settings dict, read lazily so ``override_settings`` works.

Every other module reads configuration through :func:`get_config`; nothing reads
``settings.ARQ_DJANGO`` at import time.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

if TYPE_CHECKING:
    from arq_django.connection.servers import RedisServer

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


def _dotted_list(name: str, value: Any) -> tuple[str, ...]:
    paths = _str_list(name, value)
    if bad := [p for p in paths if "." not in p.strip(".") or any(c.isspace() for c in p)]:
        raise ImproperlyConfigured(
            f"ARQ_DJANGO[{name!r}] must be a list of dotted paths (e.g. 'myapp.extensions.AuditExtension'), "
            f"got {bad[0]!r}."
        )
    return paths


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


Parse = Callable[[str, Any, Mapping[str, Any]], Any]
"""A key's parser: ``(key, raw value, every raw value)`` → the field's value, or ``ImproperlyConfigured``."""


def _key(key: str, default: Any, parse: Parse) -> dict[str, Any]:
    """A ``Config`` field's metadata: read ``ARQ_DJANGO[key]`` (``default`` when unset) through ``parse``."""
    return {"key": key, "default": default, "parse": parse}


def _derived(parse: Parse) -> dict[str, Any]:
    """A ``Config`` field's metadata: computed from the other keys' raw values (no key of its own)."""
    return {"parse": parse}


def _plain(check: Callable[[str, Any], Any]) -> Parse:
    return lambda key, value, raw: check(key, value)


def _optional(check: Callable[[str, Any], Any]) -> Parse:
    return lambda key, value, raw: None if value is None else check(key, value)


def _redis_url(key: str, url: Any, raw: Mapping[str, Any]) -> str:
    _server(key, url, raw)
    return str(url)


def _server(key: str, value: Any, raw: Mapping[str, Any]) -> RedisServer:
    from arq_django.connection.servers import parse_server  # imports the package: not at conf's import

    return parse_server(raw["REDIS_URL"], dict(raw), "ARQ_DJANGO")


def _queue_servers(key: str, value: Any, raw: Mapping[str, Any]) -> dict[str, RedisServer]:
    from arq_django.connection.servers import parse_queue_servers

    return parse_queue_servers(raw["QUEUES"], dict(raw), _server(key, value, raw))


def _wait_timeout(key: str, value: Any, raw: Mapping[str, Any]) -> float:
    from arq_django.connection.replicas import check_wait_timeout

    waiting = bool(raw["ENQUEUE_WAIT_REPLICAS"])
    socket_timeout = _seconds("SOCKET_TIMEOUT", raw["SOCKET_TIMEOUT"])
    return check_wait_timeout(_positive_seconds(key, value), socket_timeout, waiting)


def _queue(key: str, queue: Any, raw: Mapping[str, Any]) -> str:
    if not isinstance(queue, str) or not queue:
        raise ImproperlyConfigured(f"ARQ_DJANGO['QUEUE'] must be a non-empty string, got {queue!r}.")
    return queue


def _queues(key: str, value: Any, raw: Mapping[str, Any]) -> tuple[str, ...]:
    # A dict maps each queue to its server ({} or None: the default one), see connection.servers.
    queues = _str_list(key, list(value) if isinstance(value, dict) else value) if value is not None else ()
    queue = _queue("QUEUE", raw["QUEUE"], raw)
    return queues if queue in queues else (queue, *queues)


def _serializer(key: str, serializer: Any, raw: Mapping[str, Any]) -> str:
    if not isinstance(serializer, str) or not serializer:
        raise ImproperlyConfigured(
            "ARQ_DJANGO['SERIALIZER'] must be 'json', 'pickle' or a dotted path to an object with "
            "dumps/loads."
        )
    return serializer


def _sync_threads(key: str, value: Any, raw: Mapping[str, Any]) -> int:
    max_jobs = _positive_int("MAX_JOBS", raw["MAX_JOBS"])
    return max_jobs if value is None else _positive_int(key, value)


def _health_check_interval(key: str, value: Any, raw: Mapping[str, Any]) -> float:
    # arq's `<queue>:health-check` key (read by `arq --check`) follows the heartbeat unless set.
    if value is None:
        return _positive_seconds("HEARTBEAT_INTERVAL", raw["HEARTBEAT_INTERVAL"])
    return _seconds(key, value)


def _health_checks(key: str, value: Any, raw: Mapping[str, Any]) -> tuple[str, ...]:
    checks = _str_list(key, value)
    unknown = sorted(set(checks) - set(HEALTH_CHECK_NAMES))
    if unknown:
        raise ImproperlyConfigured(
            f"ARQ_DJANGO['HEALTH_CHECKS'] has unknown checks {unknown}; known: {list(HEALTH_CHECK_NAMES)}."
        )
    return checks


def _min_workers(key: str, value: Any, raw: Mapping[str, Any]) -> dict[str, int]:
    # By default one live worker is required on the default queue.
    if value is None:
        return {_queue("QUEUE", raw["QUEUE"], raw): 1}
    return _per_queue(key, value, _count)


@dataclass(frozen=True)
class Config:
    """The validated ``ARQ_DJANGO`` settings: each field names its key, its default and its parser (its
    ``metadata``), so a key is declared once; :data:`DEFAULTS` is derived from these fields."""

    redis_url: str = field(repr=False, metadata=_key("REDIS_URL", "redis://localhost:6379/0", _redis_url))
    """Where Redis lives (redis, rediss, unix or redis+sentinel URL); kept out of reprs (passwords)."""
    redis: RedisServer = field(metadata=_derived(_server))
    """``REDIS_URL`` parsed, with the ``REDIS_SSL_*`` keys: the default server."""
    ssl_ca_certs: str | None = field(metadata=_key("REDIS_SSL_CA_CERTS", None, lambda k, v, raw: v))
    ssl_certfile: str | None = field(metadata=_key("REDIS_SSL_CERTFILE", None, lambda k, v, raw: v))
    ssl_keyfile: str | None = field(metadata=_key("REDIS_SSL_KEYFILE", None, lambda k, v, raw: v))
    ssl_cert_reqs: str | None = field(metadata=_key("REDIS_SSL_CERT_REQS", None, lambda k, v, raw: v))
    """TLS for ``rediss://``: CA bundle, client certificate, key, ``"required"``/``"optional"``/``"none"``."""
    queue_servers: dict[str, RedisServer] = field(hash=False, metadata=_derived(_queue_servers))
    """Queues whose ``QUEUES`` entry names a server other than the default one."""
    enqueue_wait_replicas: int = field(
        metadata=_key("ENQUEUE_WAIT_REPLICAS", 0, lambda k, v, raw: 0 if v == 0 else _positive_int(k, v))
    )
    """``enqueue()`` returns once this many replicas have the job (Redis ``WAIT``); 0: do not wait."""
    enqueue_wait_timeout: float = field(metadata=_key("ENQUEUE_WAIT_TIMEOUT", 1.0, _wait_timeout))
    """Seconds ``WAIT`` may take before the enqueue fails as not confirmed."""
    queue: str = field(metadata=_key("QUEUE", "arq:queue", _queue))
    """The default queue's Redis key (arq's ``arq:queue``)."""
    queues: tuple[str, ...] = field(metadata=_key("QUEUES", None, _queues))
    """Every queue jobs may be routed to; the default queue is always among them."""
    job_modules: tuple[str, ...] = field(metadata=_key("JOB_MODULES", ["jobs"], _plain(_str_list)))
    """Module names imported from every installed app to register jobs."""
    serializer: str = field(metadata=_key("SERIALIZER", "json", _serializer))
    """``"json"``, ``"pickle"`` or a dotted path to an object with ``dumps``/``loads``."""
    connect_timeout: float = field(metadata=_key("CONNECT_TIMEOUT", 2.0, _plain(_seconds)))
    socket_timeout: float = field(metadata=_key("SOCKET_TIMEOUT", 5.0, _plain(_seconds)))
    max_jobs: int = field(metadata=_key("MAX_JOBS", 10, _plain(_positive_int)))
    job_timeout: float = field(metadata=_key("JOB_TIMEOUT", 300, _plain(_seconds)))
    keep_result: float = field(metadata=_key("KEEP_RESULT", 3600, _plain(_seconds)))
    max_tries: int = field(metadata=_key("MAX_TRIES", 5, _plain(_positive_int)))
    poll_delay: float = field(metadata=_key("POLL_DELAY", 0.5, _plain(_seconds)))
    health_check_interval: float = field(metadata=_key("HEALTH_CHECK_INTERVAL", None, _health_check_interval))
    job_completion_wait: float = field(metadata=_key("JOB_COMPLETION_WAIT", 10, _plain(_seconds)))
    expires_extra: float = field(metadata=_key("EXPIRES_EXTRA", 86400, _plain(_seconds)))
    sync_threads: int = field(metadata=_key("SYNC_THREADS", None, _sync_threads))
    mirror: bool = field(metadata=_key("MIRROR", True, _plain(_bool)))
    """Keep a ``JobResult`` row per job up to date (the result mirror)."""
    mirror_on_enqueue: bool = field(metadata=_key("MIRROR_ON_ENQUEUE", True, _plain(_bool)))
    """``enqueue()`` creates the ``queued`` row; ``False`` leaves row creation to the worker."""
    mirror_flush_interval: float = field(metadata=_key("MIRROR_FLUSH_INTERVAL", 0.25, _plain(_seconds)))
    """Seconds between the worker's batched mirror writes."""
    mirror_batch_size: int = field(metadata=_key("MIRROR_BATCH_SIZE", 500, _plain(_positive_int)))
    """Buffered row updates that trigger a write before the interval is up."""
    mirror_reconcile_interval: float = field(metadata=_key("MIRROR_RECONCILE_INTERVAL", 60, _plain(_seconds)))
    """Seconds between passes that fill rows from arq's result records (also run at worker start)."""
    result_retention: float | None = field(
        metadata=_key("RESULT_RETENTION", None, lambda k, v, raw: _retention(v))
    )
    """Seconds after which finished rows are pruned by a built-in hourly cron job; ``None``: never."""
    priority_step: float = field(default=0.1, metadata=_key("PRIORITY_STEP", 0.1, _plain(_seconds)))
    """Seconds of queue age one priority step is worth (see :mod:`arq_django.jobs.priority`)."""
    queues_listed: bool = field(default=False, metadata=_derived(lambda k, v, raw: raw["QUEUES"] is not None))
    """``QUEUES`` was given: only those queues are known (else the default and the routed ones)."""
    list_sources: tuple[str, ...] = field(default=(), metadata=_key("LIST_SOURCES", [], _plain(_str_list)))
    """Redis lists of ``{"type": ..., "data": {...}}`` messages the worker ingests as jobs."""
    list_lease: float = field(default=30.0, metadata=_key("LIST_LEASE", 30, lambda k, v, raw: _lease(v)))
    """Seconds a list ingester's claim outlives its last heartbeat; then others recover its messages."""
    heartbeat_interval: float = field(
        default=5.0, metadata=_key("HEARTBEAT_INTERVAL", 5.0, _plain(_positive_seconds))
    )
    """Seconds between a worker's heartbeats; a heartbeat key expires after three intervals."""
    health_timeout: float = field(
        default=1.0, metadata=_key("HEALTH_TIMEOUT", 1.0, _plain(_positive_seconds))
    )
    """The time budget of one health report: every check answers within it or fails."""
    health_checks: tuple[str, ...] = field(
        default=HEALTH_CHECK_NAMES, metadata=_key("HEALTH_CHECKS", list(HEALTH_CHECK_NAMES), _health_checks)
    )
    """The checks a health report runs; each one must pass for status ``ok``."""
    health_min_workers: dict[str, int] = field(
        default_factory=dict, hash=False, metadata=_key("HEALTH_MIN_WORKERS", None, _min_workers)
    )
    """Live workers required per queue; ``"*"`` applies to every known queue not named."""
    health_max_backlog: dict[str, int] = field(
        default_factory=dict,
        hash=False,
        metadata=_key("HEALTH_MAX_BACKLOG", None, lambda k, v, raw: _per_queue(k, v, _count)),
    )
    """Most due-but-waiting jobs allowed per queue (``"*"``: every queue; else no limit)."""
    health_max_backlog_age: dict[str, float] = field(
        default_factory=dict,
        hash=False,
        metadata=_key("HEALTH_MAX_BACKLOG_AGE", None, lambda k, v, raw: _per_queue(k, v, _seconds)),
    )
    """Longest a due job may wait, per queue, in seconds (``"*"``: every queue; else no limit)."""
    api_tokens: tuple[str, ...] = field(
        default=(), repr=False, metadata=_key("API_TOKENS", [], _plain(_secret_list))
    )
    """Bearer tokens accepted by the JSON API (and the metrics endpoint unless it has its own)."""
    api_enqueue_allowed: tuple[str, ...] = field(
        default=(), metadata=_key("API_ENQUEUE_ALLOWED", [], _plain(_str_list))
    )
    """Job names the API may enqueue; nothing else can be enqueued over HTTP."""
    metrics_tokens: tuple[str, ...] | None = field(
        default=None, repr=False, metadata=_key("METRICS_TOKENS", None, _optional(_secret_list))
    )
    """Bearer tokens for ``metrics``; ``None`` means the API's tokens and staff sessions."""
    log_jobs: bool = field(default=True, metadata=_key("LOG_JOBS", True, _plain(_bool)))
    """Log arq's start and end line for every job at INFO (errors and warnings are always logged)."""
    burst_wait_deferred: bool = field(
        default=False, metadata=_key("BURST_WAIT_DEFERRED", False, _plain(_bool))
    )
    """``--burst`` waits for deferred jobs too (arq's rule) instead of leaving them to the next worker."""
    sync_overrun_limit: int | None = field(
        default=None, metadata=_key("SYNC_OVERRUN_LIMIT", None, _optional(_positive_int))
    )
    """Sync-job threads still running past their job's end that make the worker stop itself (``None``:
    never)."""
    worker_extensions: tuple[str, ...] = field(
        default=(), metadata=_key("WORKER_EXTENSIONS", [], _plain(_dotted_list))
    )
    """Dotted paths to ``WorkerExtension`` subclasses (or functions returning one) every worker runs,
    after the built-in ones."""


DEFAULTS: dict[str, Any] = {
    f.metadata["key"]: f.metadata["default"] for f in fields(Config) if "key" in f.metadata
}
"""Every ``ARQ_DJANGO`` key and its default, read off :class:`Config`'s fields."""


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
        alone = [str(p) for k in known if (p := _problem({**DEFAULTS, **_with_companions(k, known)}))]
        problems += list(dict.fromkeys(alone)) or [str(e)]
    if problems:
        raise ImproperlyConfigured(" ".join(problems))
    return config


_TOGETHER = (
    ("REDIS_URL", "REDIS_SSL_CA_CERTS", "REDIS_SSL_CERTFILE", "REDIS_SSL_KEYFILE", "REDIS_SSL_CERT_REQS"),
    ("ENQUEUE_WAIT_REPLICAS", "ENQUEUE_WAIT_TIMEOUT", "SOCKET_TIMEOUT"),
)
"""Keys validated together: one alone would be judged against the others' defaults."""


def _with_companions(key: str, known: dict[str, Any]) -> dict[str, Any]:
    group = next((g for g in _TOGETHER if key in g), (key,))
    return {k: known[k] for k in group if k in known}


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
    values = {
        f.name: f.metadata["parse"](f.metadata.get("key", ""), v.get(f.metadata.get("key", "")), v)
        for f in fields(Config)
    }
    return Config(**values)


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
