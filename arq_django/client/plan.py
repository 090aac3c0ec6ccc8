"""Turn an enqueue call into the exact record arq expects, validating everything before Redis is touched."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from arq_django.client.wire import encode_job
from arq_django.conf import get_config
from arq_django.exceptions import InvalidArguments, PayloadError
from arq_django.jobs.job_ids import check_job_id
from arq_django.jobs.priority import check_priority, shift_ms
from arq_django.jobs.registry import JobSpec, registry
from arq_django.jobs.routing import route
from arq_django.jobs.unique import marker_key, unique_job_id
from arq_django.keys import job_key_prefix, result_key_prefix
from arq_django.serializers import Serializer, get_serializer

Duration = int | float | timedelta
MAX_CALL_SHAPES = 64
"""Argument shapes remembered per job as known to bind (see :func:`_bind`)."""


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
    unique: bool = False
    """The id was derived from the arguments (``@job(unique=True)``): a pending job or the
    ``unique_for`` marker blocks it; an old result does not (it is replaced)."""
    priority: int = 0
    delay_ms: int | None = 0
    """Run-at time relative to enqueue (``None``: an absolute ``_defer_until``); see :meth:`rebased`."""
    shift_ms: int = 0
    """How much earlier than its run-at time the job is scored, for its priority."""
    max_tries: int | None = None
    """The job's own ``max_tries`` (``None``: ``ARQ_DJANGO['MAX_TRIES']``), for its mirror row."""

    @property
    def job_key(self) -> str:
        return job_key_prefix + self.job_id

    @property
    def result_key(self) -> str:
        return result_key_prefix + self.job_id

    @property
    def guard_keys(self) -> tuple[str, ...]:
        """Keys whose existence means the id is taken (guarded writes only)."""
        if self.unique:
            return (self.job_key, marker_key(self.job_id))
        return (self.job_key, self.result_key)

    @property
    def stale_keys(self) -> tuple[str, ...]:
        """Keys a guarded write deletes: a unique job's previous result."""
        return (self.result_key,) if self.unique else ()

    def rebased(self, now_ms: int) -> JobPlan:
        """The same job with relative run-at times counted from ``now_ms`` (enqueue on commit)."""
        if self.delay_ms is None:
            return self
        return replace(self, score=now_ms + self.delay_ms - self.shift_ms)


def plan_job(
    job: str | Callable[..., Any] | JobSpec,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    job_id: str | None = None,
    queue_name: str | None = None,
    defer_until: datetime | None = None,
    defer_by: Duration | None = None,
    expires: Duration | None = None,
    job_try: int | None = None,
    priority: int | None = None,
) -> JobPlan:
    """Validate and serialize one job (a name, dotted path, ``@job`` handler or a spec made elsewhere, as
    for Django tasks); raises before anything could be written."""
    spec = job if isinstance(job, JobSpec) else registry.get(job)
    name = spec.name
    if defer_until is not None and defer_by is not None:
        raise ValueError(f"enqueue({name!r}): pass either _defer_until or _defer_by, not both.")
    config = get_config()
    if job_id is not None:
        check_job_id(job_id, job=spec.name)
    queue = route(spec, queue_name)
    priority = spec.priority if priority is None else check_priority(priority, f"enqueue({name!r})")
    shift = shift_ms(priority, config.priority_step)
    now_ms = round(time.time() * 1000)
    delay_ms: int | None = 0
    if defer_until is not None:
        if not isinstance(defer_until, datetime):
            raise TypeError(f"enqueue({name!r}): _defer_until must be a datetime, got {defer_until!r}.")
        if timezone.is_naive(defer_until):
            defer_until = timezone.make_aware(defer_until)
        run_at = round(defer_until.timestamp() * 1000)
        delay_ms = None
    elif defer_by is not None:
        delay_ms = _to_ms(defer_by)
        if delay_ms < 0:
            raise ValueError(f"enqueue({name!r}): _defer_by must not be negative, got {defer_by!r}.")
        run_at = now_ms + delay_ms
    else:
        run_at = now_ms
    score = run_at - shift
    if score <= 0:
        raise ValueError(f"enqueue({name!r}): the run-at time must be after 1970, got {defer_until!r}.")
    expires_ms = _to_ms(expires) if expires is not None else None
    if expires_ms is not None and expires_ms <= 0:
        raise ValueError(f"enqueue({name!r}): _expires must be positive, got {expires!r}.")
    _bind(spec, args, kwargs)
    serializer = get_serializer()
    payload = _serialize(spec.name, args, kwargs, job_try, now_ms, serializer)
    unique = spec.unique and job_id is None
    if unique:
        job_id = _unique_id(spec.name, args, kwargs)
    return JobPlan(
        job_id=job_id or uuid.uuid4().hex,
        function=spec.name,
        queue_name=queue,
        score=score,
        expires_ms=expires_ms or max(max(run_at, score) - now_ms, 0) + round(config.expires_extra * 1000),
        payload=payload,
        guarded=job_id is not None,
        unique=unique,
        priority=priority,
        delay_ms=delay_ms,
        shift_ms=shift,
        max_tries=spec.max_tries,
    )


def _to_ms(value: Duration) -> int:
    """Milliseconds in a number of seconds or a ``timedelta`` (arq's rule: rounded to the nearest)."""
    if isinstance(value, timedelta):
        return round(value.total_seconds() * 1000)
    return round(value * 1000)


def _bind(spec: JobSpec, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Refuse arguments the handler cannot take now, not as a ``TypeError`` in the worker later."""
    signature = spec.signature
    shape = (len(args), tuple(kwargs))
    if signature is None or shape in spec.call_shapes:
        return
    try:
        signature.bind(*args, **kwargs)
    except TypeError as e:
        shown = ", ".join(
            ["ctx", *(str(p.replace(annotation=p.empty)) for p in signature.parameters.values())]
        )
        raise InvalidArguments(
            f"job {spec.name!r} cannot be enqueued with these arguments: {e}. Its handler is "
            f"{spec.func.__name__}({shown}): pass what follows ctx (the worker passes ctx)."
        ) from e
    if len(spec.call_shapes) < MAX_CALL_SHAPES:  # a **kwargs handler fed by the API must not grow it forever
        spec.call_shapes.add(shape)


def _unique_id(function: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    try:
        return unique_job_id(function, args, kwargs)
    except TypeError as e:
        raise PayloadError(
            f"job {function!r} is unique=True: its id is a hash of its arguments in JSON, and {e}. "
            "Pass plain data (str, numbers, lists, dicts, datetime, Decimal, UUID, bytes)."
        ) from e


def _serialize(
    function: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    job_try: int | None,
    enqueue_ms: int,
    serializer: Serializer,
) -> bytes:
    # arq's job record, key for key (arq.jobs.serialize_job), so plain arq workers run it.
    try:
        return encode_job(function, args, kwargs, job_try, enqueue_ms, serializer.dumps)
    except Exception as e:
        raise PayloadError(_culprit(function, args, kwargs, serializer, e)) from e


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
                f"{serializer.name!r} serializer: {e}. Pass plain data (str, numbers, lists, dicts with "
                "str keys, datetime, Decimal, UUID, bytes)."
            )
    return f"job {function!r}: its arguments cannot be encoded by the {serializer.name!r} serializer: {cause}"
