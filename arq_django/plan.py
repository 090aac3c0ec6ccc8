"""Turn an enqueue call into the exact record arq expects, validating everything before Redis is touched."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from arq.constants import job_key_prefix, result_key_prefix
from arq.jobs import serialize_job
from arq.utils import timestamp_ms, to_ms
from django.utils import timezone

from .conf import get_config
from .exceptions import SerializationError
from .registry import registry
from .serializers import Serializer, get_serializer

Duration = int | float | timedelta


@dataclass(frozen=True)
class JobPlan:
    """Everything needed to write one job, computed before any I/O."""

    job_id: str
    function: str
    queue_name: str
    score: int
    """Run-at time in epoch milliseconds: the job's score in the queue's sorted set."""
    expires_ms: int
    """TTL of the job record (arq's default: time until run-at plus ``EXPIRES_EXTRA``)."""
    payload: bytes
    guarded: bool
    """The caller chose the id, so an existing job or result with that id must be checked first."""

    @property
    def job_key(self) -> str:
        return job_key_prefix + self.job_id

    @property
    def result_key(self) -> str:
        return result_key_prefix + self.job_id


def plan_job(
    name: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    job_id: str | None = None,
    queue_name: str | None = None,
    defer_until: datetime | None = None,
    defer_by: Duration | None = None,
    expires: Duration | None = None,
    job_try: int | None = None,
) -> JobPlan:
    """Validate and serialize one job; raises before anything could be written."""
    if defer_until is not None and defer_by is not None:
        raise ValueError(f"enqueue({name!r}): pass either _defer_until or _defer_by, not both.")
    spec = registry.get(name)
    config = get_config()
    if job_id is not None and (not isinstance(job_id, str) or not job_id):
        raise ValueError(f"enqueue({name!r}): _job_id must be a non-empty string, got {job_id!r}.")
    now_ms = timestamp_ms()
    if defer_until is not None:
        if not isinstance(defer_until, datetime):
            raise TypeError(f"enqueue({name!r}): _defer_until must be a datetime, got {defer_until!r}.")
        if timezone.is_naive(defer_until):
            defer_until = timezone.make_aware(defer_until)
        score = round(defer_until.timestamp() * 1000)
    elif defer_by is not None:
        defer_ms = to_ms(defer_by)
        if defer_ms < 0:
            raise ValueError(f"enqueue({name!r}): _defer_by must not be negative, got {defer_by!r}.")
        score = now_ms + defer_ms
    else:
        score = now_ms
    if score <= 0:
        raise ValueError(f"enqueue({name!r}): the run-at time must be after 1970, got {defer_until!r}.")
    expires_ms = to_ms(expires) if expires is not None else None
    if expires_ms is not None and expires_ms <= 0:
        raise ValueError(f"enqueue({name!r}): _expires must be positive, got {expires!r}.")
    serializer = get_serializer()
    payload = _serialize(spec.name, args, kwargs, job_try, now_ms, serializer)
    return JobPlan(
        job_id=job_id or uuid.uuid4().hex,
        function=spec.name,
        queue_name=queue_name or spec.queue or config.queue,
        score=score,
        expires_ms=expires_ms or max(score - now_ms, 0) + round(config.expires_extra * 1000),
        payload=payload,
        guarded=job_id is not None,
    )


def _serialize(
    function: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    job_try: int | None,
    enqueue_ms: int,
    serializer: Serializer,
) -> bytes:
    try:
        return serialize_job(function, args, kwargs, job_try, enqueue_ms, serializer=serializer.dumps)
    except Exception as e:
        cause = e.__cause__ or e
        raise SerializationError(_culprit(function, args, kwargs, serializer, cause)) from cause


def _culprit(
    function: str, args: tuple[Any, ...], kwargs: dict[str, Any], serializer: Serializer, cause: BaseException
) -> str:
    """Name the first argument the serializer rejects, so the message says what to change."""
    named: list[tuple[str, Any]] = [(f"positional argument {i}", a) for i, a in enumerate(args)]
    named += [(f"argument {k!r}", v) for k, v in kwargs.items()]
    for label, value in named:
        try:
            serializer.dumps(value)
        except Exception as e:
            return (
                f"job {function!r}: {label} ({type(value).__name__}) cannot be encoded by the "
                f"{serializer.name!r} serializer: {e}. Pass plain data (str, numbers, lists, dicts, "
                "datetime, Decimal, UUID, bytes), e.g. a model's primary key instead of the instance."
            )
    return f"job {function!r}: its arguments cannot be encoded by the {serializer.name!r} serializer: {cause}"
