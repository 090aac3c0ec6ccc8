"""Every error arq_django raises derives from :class:`ArqDjangoError`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.exceptions import ImproperlyConfigured


class ArqDjangoError(Exception):
    """Base class of the package's errors; never raised directly."""


class JobNotRegistered(ArqDjangoError, LookupError):
    """A job name (or dotted path) that no installed app's job module registers."""

    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        self.known = known
        hint = ", ".join(sorted(known)[:20]) or "none"
        super().__init__(
            f"job {name!r} is not registered. Register it with @job in an installed app's jobs module "
            f"(ARQ_DJANGO['JOB_MODULES']). Registered jobs: {hint}."
        )


class PayloadError(ArqDjangoError, TypeError):
    """A job's arguments (or result) cannot be encoded by the configured serializer."""


class UnreadableRecord(ArqDjangoError, ValueError):
    """A job or result record in Redis that the configured serializer cannot read (or that is not arq's)."""


class RetryRequested(ArqDjangoError, RuntimeError):
    """Raise it (as ``arq_django.Retry``) in a job to run it again, after ``defer`` seconds (or a
    ``timedelta``) if given, while it has tries left. The worker treats arq's own ``Retry`` the same way;
    this one needs no ``arq`` package where the job's module is imported (a producer)."""

    def __init__(self, defer: float | timedelta | None = None) -> None:
        super().__init__(defer)
        seconds = defer.total_seconds() if isinstance(defer, timedelta) else defer
        self.defer_score: int | None = None if seconds is None else round(seconds * 1000)
        """Milliseconds to wait before the next try (arq's attribute name, so the worker reads both)."""

    def __str__(self) -> str:
        return f"<Retry defer {(self.defer_score or 0) / 1000:0.2f}s>"


Retry = RetryRequested
"""``raise arq_django.Retry(defer=30)``: the short name, as in arq."""


class EnqueueError(ArqDjangoError):
    """Redis refused or could not be reached while enqueueing; nothing was written."""


class EnqueueNotConfirmed(EnqueueError):
    """The job was written on the primary, but fewer replicas than ``ENQUEUE_WAIT_REPLICAS`` confirmed
    it in time: it may run, or be lost in a failover. ``job_id`` names it, for a retry with that id."""

    def __init__(self, message: str, *, job_id: str) -> None:
        super().__init__(message)
        self.job_id = job_id


class JobFailed(ArqDjangoError):
    """The job raised; ``exc_type`` and ``message`` describe the original exception."""

    def __init__(self, exc_type: str, message: str) -> None:
        self.exc_type = exc_type
        self.message = message
        super().__init__(f"{exc_type}: {message}" if message else exc_type)


class JobResultTimeout(ArqDjangoError, TimeoutError):
    """``handle.result(timeout=...)`` ran out of time before the job finished."""


class ResultNotFound(ArqDjangoError, LookupError):
    """The job is neither queued nor holding a result (unknown id, or its result expired)."""


class UnknownQueue(ArqDjangoError, ImproperlyConfigured):
    """A queue no worker serves: not in ``ARQ_DJANGO['QUEUES']``, or not the one the job is pinned to."""


class InvalidArguments(ArqDjangoError, TypeError):
    """The arguments given at enqueue do not fit the handler's parameters (missing, unexpected, too many)."""


class DuplicateJobName(ArqDjangoError, ImproperlyConfigured):
    """Two handlers registered under one job name (``arq_django.E003`` in ``manage.py check``)."""


class RedisUnavailable(ArqDjangoError, ConnectionError):
    """Redis failed or could not be reached while reading or changing jobs (handles, commands, a worker
    that gave up waiting for it)."""


class InvalidJobId(ArqDjangoError, ValueError):
    """A caller-chosen job id breaks the rule of :mod:`arq_django.jobs.job_ids` or takes a reserved shape."""


class RetryRefused(ArqDjangoError):
    """A row cannot be retried (unfinished, or its arguments were not stored as JSON)."""


SerializationError = PayloadError
"""Deprecated alias of :class:`PayloadError` (the old name clashed with ``arq.jobs.SerializationError``)."""


class CronSpecError(ArqDjangoError, ValueError):
    """A cron schedule that cannot be parsed; the message names the field."""


class MalformedMessage(ArqDjangoError, ValueError):
    """A list message that cannot become a job; ``reason`` says why and goes into the dead letter."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class CheckFailed(ArqDjangoError):
    """A health check ran and found a problem (as opposed to not answering in time)."""

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.details = details or {}


class BadRequest(ArqDjangoError, ValueError):
    """An ops API request's input is wrong; the message says how (shown to the caller with a 400)."""


class TaskNotLoadable(ArqDjangoError):
    """A Django task's ``module_path`` cannot be imported where it runs, or names something else."""


class TaskArgumentsError(ArqDjangoError, TypeError):
    """A Django task's arguments do not fit its function, or cannot round-trip through JSON."""
