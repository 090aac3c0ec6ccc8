"""The job registry: ``@job`` records handlers by name; job modules are discovered in installed apps."""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, overload

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import autodiscover_modules

from arq_django.conf import get_config
from arq_django.exceptions import DuplicateJobName, JobNotRegistered
from arq_django.jobs import crontab
from arq_django.jobs.job_function import Handler, JobFunction, P, R_co, attach, call_signature
from arq_django.jobs.options import Seconds, cron_options, retry_policy, seconds, unique_options
from arq_django.jobs.priority import check_priority
from arq_django.jobs.retry import RetryPolicy


@dataclass(frozen=True)
class JobSpec:
    """One registered job: its name, its handler and the options given to ``@job``."""

    name: str
    """The name producers enqueue and arq stores in the job record (``f``)."""
    func: Callable[..., Any]
    """The handler, called as ``func(ctx, *args, **kwargs)``."""
    is_async: bool
    """Coroutine handlers run on the worker's loop; sync ones in its thread pool."""
    queue: str | None = None
    """The queue this job is routed to; ``None`` means ``ARQ_DJANGO['QUEUE']``."""
    timeout: float | None = None
    max_tries: int | None = None
    keep_result: float | None = None
    priority: int = 0
    """Default priority (-100..100, higher first); ``_priority=`` per enqueue overrides it."""
    cron: crontab.CronSchedule | None = None
    """When workers of the job's queue enqueue it by themselves."""
    run_at_startup: bool = False
    cron_kwargs: Mapping[str, Any] | None = field(default=None, hash=False)
    """Keyword arguments each cron run gets (cron runs have no producer to pass any)."""
    retry: RetryPolicy | None = None
    """Which exceptions re-queue the job, with what backoff."""
    unique: bool = False
    """The job id is derived from the name and arguments: one pending job per distinct call."""
    unique_for: float | None = None
    """Seconds the id stays taken after the job ends (``unique=True`` only)."""
    signature: inspect.Signature | None = field(default=None, compare=False, repr=False)
    """The handler's parameters after ``ctx``, read once: enqueue binds the arguments against it."""
    call_shapes: set[tuple[int, tuple[str, ...]]] = field(default_factory=set, compare=False, repr=False)
    """(positional count, keyword names) already bound without error: binding depends on nothing
    else, so enqueue skips ``Signature.bind`` for them (see :func:`arq_django.client.plan.plan_job`)."""

    @property
    def path(self) -> str:
        """The handler's dotted path (``app.jobs.func``), an alias for the name."""
        return f"{self.func.__module__}.{self.func.__qualname__}"

    def queue_name(self) -> str:
        return self.queue or get_config().queue


Resolver = Callable[[str], "JobSpec | None"]
"""Finds a spec for a name no ``@job`` registered (Django tasks, by ``module_path``); raises when the
name is its kind but cannot be loaded, returns ``None`` when it is not its kind."""


class Registry:
    """Name → :class:`JobSpec`, filled by ``@job`` as job modules are imported."""

    def __init__(self) -> None:
        self._specs: dict[str, JobSpec] = {}
        self._discovered = False
        self._lock = threading.RLock()
        self._resolvers: list[Resolver] = []

    def add_resolver(self, resolver: Resolver) -> None:
        """Consult ``resolver`` for names no ``@job`` registered (:mod:`arq_django.tasks`)."""
        if resolver not in self._resolvers:
            self._resolvers.append(resolver)

    def resolve(self, name: str) -> JobSpec | None:
        """A spec from the resolvers only; their errors (the reason a name cannot load) propagate."""
        for resolver in self._resolvers:
            spec = resolver(name)
            if spec is not None:
                return spec
        return None

    def _resolved(self, name: str) -> JobSpec | None:
        try:
            return self.resolve(name)
        except Exception:
            return None  # enqueue reports JobNotRegistered; the worker asks resolve() for the reason

    def add(self, spec: JobSpec) -> None:
        with self._lock:
            existing = self._specs.get(spec.name)
            if existing is not None and existing.path != spec.path:
                raise DuplicateJobName(
                    f"job name {spec.name!r} is registered twice: by {existing.path} "
                    f"(module {existing.func.__module__}) and by {spec.path} "
                    f"(module {spec.func.__module__}). "
                    "Give one of them another name: @job('other_name')."
                )
            self._specs[spec.name] = spec

    def autodiscover(self) -> None:
        """Import every installed app's job modules once (``ARQ_DJANGO['JOB_MODULES']``)."""
        if self._discovered:
            return
        with self._lock:
            if not self._discovered:
                autodiscover_modules(*get_config().job_modules)
                self._discovered = True

    def get(self, name: str | Callable[..., Any]) -> JobSpec:
        """The spec for a job name, dotted path or ``@job`` handler; raises :class:`JobNotRegistered`."""
        if not isinstance(name, str):
            return self._by_handler(name)
        spec = self._specs.get(name)
        if spec is None:
            self.autodiscover()  # app start (arq_django.startup) has done it, unless asked before that
            spec = self._specs.get(name) or self._by_path(name) or self._resolved(name)
        if spec is None:
            raise JobNotRegistered(name, list(self._specs))
        return spec

    def _by_handler(self, func: Callable[..., Any]) -> JobSpec:
        spec = self._specs.get(getattr(func, "job_name", None) or "")
        if spec is None or spec.func is not func:
            self.autodiscover()
            path = f"{getattr(func, '__module__', '?')}.{getattr(func, '__qualname__', repr(func))}"
            spec = self._by_path(path)
            if spec is None:
                raise JobNotRegistered(path, list(self._specs))
        return spec

    def _by_path(self, path: str) -> JobSpec | None:
        return next((s for s in self._specs.values() if s.path == path), None)

    def all(self) -> list[JobSpec]:
        self.autodiscover()
        return sorted(self._specs.values(), key=lambda s: s.name)

    def remove(self, name: str) -> None:
        """Forget a job (tests registering throwaway handlers use this)."""
        with self._lock:
            self._specs.pop(name, None)


registry = Registry()


@overload
def job(func: Handler[P, R_co], /) -> JobFunction[P, R_co]: ...


@overload
def job(
    name: str | None = None,
    /,
    *,
    queue: str | None = None,
    timeout: Seconds | None = None,
    max_tries: int | None = None,
    keep_result: Seconds | None = None,
    priority: int = 0,
    cron: str | Mapping[str, Any] | None = None,
    run_at_startup: bool = False,
    cron_kwargs: Mapping[str, Any] | None = None,
    retry_on: type[Exception] | tuple[type[Exception], ...] = (),
    retry_backoff: Seconds | None = None,
    retry_backoff_max: Seconds | None = None,
    retry_jitter: bool | None = None,
    unique: bool = False,
    unique_for: Seconds | None = None,
) -> Callable[[Handler[P, R_co]], JobFunction[P, R_co]]: ...


def job(
    func_or_name: Any = None,
    /,
    *,
    queue: str | None = None,
    timeout: Seconds | None = None,
    max_tries: int | None = None,
    keep_result: Seconds | None = None,
    priority: int = 0,
    cron: str | Mapping[str, Any] | None = None,
    run_at_startup: bool = False,
    cron_kwargs: Mapping[str, Any] | None = None,
    retry_on: type[Exception] | tuple[type[Exception], ...] = (),
    retry_backoff: Seconds | None = None,
    retry_backoff_max: Seconds | None = None,
    retry_jitter: bool | None = None,
    unique: bool = False,
    unique_for: Seconds | None = None,
) -> Any:
    """Register a handler as an arq job.

    ``@job`` names it after the function; ``@job("email", queue=..., ...)`` sets the name and options:

    - ``queue``, ``timeout``, ``max_tries``, ``keep_result``: arq's per-job options;
    - ``priority``: -100..100, higher runs first among ready jobs (:mod:`arq_django.jobs.priority`);
    - ``cron`` (crontab string or arq's dict form), ``run_at_startup``, ``cron_kwargs``;
    - ``retry_on``, ``retry_backoff``, ``retry_backoff_max``, ``retry_jitter`` (:mod:`arq_django.jobs.retry`);
    - ``unique``, ``unique_for`` (:mod:`arq_django.jobs.unique`).

    Bad options (and a handler without a ``ctx`` parameter) raise ``ImproperlyConfigured`` naming the
    job, when its module is imported. The function itself is returned, so tests can still call it
    directly with a ``ctx`` dict; it gains ``.enqueue(...)``, ``.aenqueue(...)`` and ``.delay(...)``
    (:mod:`arq_django.jobs.job_function`).
    """
    if callable(func_or_name):
        return _register(func_or_name, None, {})
    options = {
        "queue": queue,
        "timeout": timeout,
        "max_tries": max_tries,
        "keep_result": keep_result,
        "priority": priority,
        "cron": cron,
        "run_at_startup": run_at_startup,
        "cron_kwargs": cron_kwargs,
        "retry_on": retry_on,
        "retry_backoff": retry_backoff,
        "retry_backoff_max": retry_backoff_max,
        "retry_jitter": retry_jitter,
        "unique": unique,
        "unique_for": unique_for,
    }

    def decorator(func: Callable[..., Any]) -> JobFunction[Any, Any]:
        return _register(func, func_or_name, options)

    return decorator


def _register(func: Callable[..., Any], name: str | None, options: dict[str, Any]) -> JobFunction[Any, Any]:
    job_name = name or func.__name__
    if not isinstance(job_name, str) or not job_name:
        raise ImproperlyConfigured(f"@job on {func!r}: the name must be a non-empty string, got {name!r}.")
    max_tries = options.get("max_tries")
    if max_tries is not None and (
        isinstance(max_tries, bool) or not isinstance(max_tries, int) or max_tries < 1
    ):
        raise ImproperlyConfigured(
            f"@job {job_name!r}: max_tries= must be a whole number >= 1, got {max_tries!r}."
        )
    queue = options.get("queue")
    if queue is not None and (not isinstance(queue, str) or not queue):
        raise ImproperlyConfigured(f"@job {job_name!r}: queue= must be a non-empty string, got {queue!r}.")
    try:
        priority = check_priority(options.get("priority", 0), f"@job {job_name!r}")
    except ValueError as e:
        raise ImproperlyConfigured(str(e)) from e
    spec = JobSpec(
        name=job_name,
        func=func,
        is_async=inspect.iscoroutinefunction(func),
        queue=queue,
        timeout=seconds(job_name, "timeout", options.get("timeout")),
        max_tries=max_tries,
        keep_result=seconds(job_name, "keep_result", options.get("keep_result")),
        priority=priority,
        **cron_options(job_name, func, options),
        retry=retry_policy(job_name, options),
        **unique_options(job_name, options),
        signature=call_signature(job_name, func),
    )
    registry.add(spec)
    return attach(func, job_name)
