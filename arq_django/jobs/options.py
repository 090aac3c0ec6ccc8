"""Validation of ``@job``'s options: each helper returns ``JobSpec`` fields or raises
``ImproperlyConfigured`` naming the job and the option, when the job module is imported."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from arq_django.exceptions import CronSpecError
from arq_django.jobs import crontab
from arq_django.jobs.retry import RetryPolicy

Seconds = int | float | timedelta


def seconds(job_name: str, option: str, value: Seconds | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ImproperlyConfigured(
            f"@job {job_name!r}: {option}= must be a number of seconds >= 0 or a timedelta, got {value!r}."
        )
    return float(value)


def cron_options(job_name: str, func: Callable[..., Any], options: dict[str, Any]) -> dict[str, Any]:
    spec = options.get("cron")
    run_at_startup, kwargs = options.get("run_at_startup"), options.get("cron_kwargs")
    if spec is None:
        if run_at_startup or kwargs is not None:
            raise ImproperlyConfigured(
                f"@job {job_name!r}: run_at_startup= and cron_kwargs= only apply to cron jobs; add cron=."
            )
        return {}
    try:
        schedule = crontab.parse(spec)
    except CronSpecError as e:
        raise ImproperlyConfigured(f"@job {job_name!r}: cron={spec!r} is invalid: {e}.") from e
    if not isinstance(run_at_startup, bool):
        raise ImproperlyConfigured(f"@job {job_name!r}: run_at_startup= must be True or False.")
    if kwargs is not None and not (isinstance(kwargs, Mapping) and all(isinstance(k, str) for k in kwargs)):
        raise ImproperlyConfigured(
            f"@job {job_name!r}: cron_kwargs= must be a dict with str keys, got {kwargs!r}."
        )
    try:
        inspect.signature(func).bind(None, **(kwargs or {}))
    except TypeError as e:
        raise ImproperlyConfigured(
            f"@job {job_name!r}: a cron job is called with ctx and cron_kwargs only ({e}); give the "
            "other arguments defaults or pass them with cron_kwargs={...}."
        ) from e
    return {"cron": schedule, "run_at_startup": run_at_startup, "cron_kwargs": dict(kwargs or {})}


def retry_policy(job_name: str, options: dict[str, Any]) -> RetryPolicy | None:
    retry_on = options.get("retry_on") or ()
    if isinstance(retry_on, type):
        retry_on = (retry_on,)
    tuning = {k: options.get(k) for k in ("retry_backoff", "retry_backoff_max", "retry_jitter")}
    if not retry_on:
        given = [k for k, v in tuning.items() if v is not None]
        if given:
            raise ImproperlyConfigured(
                f"@job {job_name!r}: {', '.join(given)} need retry_on=(SomeError, ...)."
            )
        return None
    if not isinstance(retry_on, (tuple, list)) or not all(
        isinstance(e, type) and issubclass(e, Exception) for e in retry_on
    ):
        raise ImproperlyConfigured(
            f"@job {job_name!r}: retry_on= must be an exception class or a tuple of them, got {retry_on!r}."
        )
    jitter = tuning["retry_jitter"]
    if jitter is not None and not isinstance(jitter, bool):
        raise ImproperlyConfigured(f"@job {job_name!r}: retry_jitter= must be True or False, got {jitter!r}.")
    backoff = seconds(job_name, "retry_backoff", tuning["retry_backoff"])
    backoff_max = seconds(job_name, "retry_backoff_max", tuning["retry_backoff_max"])
    return RetryPolicy(
        retry_on=tuple(retry_on),
        backoff=1.0 if backoff is None else backoff,
        backoff_max=600.0 if backoff_max is None else backoff_max,
        jitter=True if jitter is None else jitter,
    )


def unique_options(job_name: str, options: dict[str, Any]) -> dict[str, Any]:
    unique, unique_for = options.get("unique", False), options.get("unique_for")
    if not isinstance(unique, bool):
        raise ImproperlyConfigured(f"@job {job_name!r}: unique= must be True or False, got {unique!r}.")
    window = seconds(job_name, "unique_for", unique_for)
    if window is not None and not unique:
        raise ImproperlyConfigured(f"@job {job_name!r}: unique_for= needs unique=True.")
    return {"unique": unique, "unique_for": window or None}
