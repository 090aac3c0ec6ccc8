"""The job registry: ``@job`` records handlers by name; job modules are discovered in installed apps."""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar, overload

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import autodiscover_modules

from .conf import get_config
from .exceptions import JobNotRegistered

F = TypeVar("F", bound=Callable[..., Any])
Seconds = int | float | timedelta


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

    @property
    def path(self) -> str:
        """The handler's dotted path (``app.jobs.func``), an alias for the name."""
        return f"{self.func.__module__}.{self.func.__qualname__}"

    def queue_name(self) -> str:
        return self.queue or get_config().queue


def _seconds(job_name: str, option: str, value: Seconds | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ImproperlyConfigured(
            f"@job {job_name!r}: {option}= must be a number of seconds >= 0 or a timedelta, got {value!r}."
        )
    return float(value)


class Registry:
    """Name → :class:`JobSpec`, filled by ``@job`` as job modules are imported."""

    def __init__(self) -> None:
        self._specs: dict[str, JobSpec] = {}
        self._discovered = False
        self._lock = threading.RLock()

    def add(self, spec: JobSpec) -> None:
        with self._lock:
            existing = self._specs.get(spec.name)
            if existing is not None and existing.path != spec.path:
                raise ImproperlyConfigured(
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

    def get(self, name: str) -> JobSpec:
        """The spec for a job name or dotted path; raises :class:`JobNotRegistered`."""
        spec = self._specs.get(name)
        if spec is None:
            self.autodiscover()
            spec = self._specs.get(name) or self._by_path(name)
        if spec is None:
            raise JobNotRegistered(name, list(self._specs))
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
def job(func: F, /) -> F: ...


@overload
def job(
    name: str | None = None,
    /,
    *,
    queue: str | None = None,
    timeout: Seconds | None = None,
    max_tries: int | None = None,
    keep_result: Seconds | None = None,
) -> Callable[[F], F]: ...


def job(
    func_or_name: Any = None,
    /,
    *,
    queue: str | None = None,
    timeout: Seconds | None = None,
    max_tries: int | None = None,
    keep_result: Seconds | None = None,
) -> Any:
    """Register a handler as an arq job.

    ``@job`` names it after the function; ``@job("email", queue=..., timeout=..., max_tries=...,
    keep_result=...)`` sets the name and options. The function is returned unchanged, so tests can
    still call it directly with a ``ctx`` dict.
    """
    if callable(func_or_name):
        return _register(func_or_name, None, {})
    options = {"queue": queue, "timeout": timeout, "max_tries": max_tries, "keep_result": keep_result}

    def decorator(func: F) -> F:
        return _register(func, func_or_name, options)

    return decorator


def _register(func: F, name: str | None, options: dict[str, Any]) -> F:
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
    spec = JobSpec(
        name=job_name,
        func=func,
        is_async=inspect.iscoroutinefunction(func),
        queue=queue,
        timeout=_seconds(job_name, "timeout", options.get("timeout")),
        max_tries=max_tries,
        keep_result=_seconds(job_name, "keep_result", options.get("keep_result")),
    )
    registry.add(spec)
    func.job_name = job_name  # type: ignore[attr-defined]
    return func
