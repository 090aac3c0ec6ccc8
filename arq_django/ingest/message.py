"""The list message format, ``{"type": name, "data": {...}}``, and its translation into a job plan.

Parsing is pure; :func:`plan` adds the registry (unknown job, arguments that do not fit the handler,
a queue no worker serves) and reuses :func:`arq_django.client.plan.plan_job` for everything else, so a message
is held to exactly the rules ``enqueue()`` applies. Every refusal is a :class:`MalformedMessage` whose
text becomes the dead letter's reason.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from arq_django.client.plan import JobPlan, plan_job
from arq_django.client.wire import timestamp_ms
from arq_django.exceptions import ArqDjangoError, MalformedMessage
from arq_django.jobs.registry import JobSpec, registry

OPTIONS = ("job_id", "queue", "defer_by", "defer_until", "expires", "priority")
"""The keys a message's ``"options"`` object may hold (anything else is refused, so typos show)."""
MAX_JOB_ID = 255
"""The longest ``options.job_id``: what the result mirror's ``job_id`` column holds."""
LATEST_MS = round(datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp() * 1000)
"""No run-at time or expiry may lie past this (year 9999, the last a ``datetime`` or a result row can
hold; Redis refuses a TTL near 2**63 ms only once the script has begun writing)."""


@dataclass(frozen=True)
class ListMessage:
    """One decoded list message."""

    job: str
    """``"type"``: the registered job name (or dotted path)."""
    kwargs: dict[str, Any] = field(default_factory=dict)
    """``"data"``: keyword arguments of the job."""
    args: tuple[Any, ...] = ()
    """``"args"``: optional positional arguments."""
    job_id: str | None = None
    queue: str | None = None
    defer_by: float | None = None
    defer_until: datetime | None = None
    expires: float | None = None
    priority: int | None = None


def parse(raw: bytes) -> ListMessage:
    """Decode one raw list element; raises :class:`MalformedMessage`. Unknown top-level keys are ignored
    (producers often add their own metadata); unknown ``options`` are not."""
    try:
        obj = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise MalformedMessage(f"not UTF-8 text: {e}") from e
    except ValueError as e:
        raise MalformedMessage(f"not valid JSON: {e}") from e
    except RecursionError as e:
        raise MalformedMessage("JSON nested too deeply to decode; send flat data") from e
    if not isinstance(obj, dict):
        raise MalformedMessage(f'not a JSON object but {_kind(obj)}; send {{"type": ..., "data": {{...}}}}')
    job = obj.get("type")
    if not isinstance(job, str) or not job:
        raise MalformedMessage(f'"type" must be a non-empty string naming a registered job, got {job!r}')
    kwargs = obj.get("data", {})
    if not isinstance(kwargs, dict):
        raise MalformedMessage(
            f'"data" of {job!r} must be a JSON object of keyword arguments, got {_kind(kwargs)}'
        )
    args = obj.get("args", [])
    if not isinstance(args, list):
        raise MalformedMessage(f'"args" of {job!r} must be a JSON array, got {_kind(args)}')
    options = obj.get("options", {})
    if not isinstance(options, dict):
        raise MalformedMessage(f'"options" of {job!r} must be a JSON object, got {_kind(options)}')
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise MalformedMessage(f'"options" of {job!r} has unknown keys {unknown}; known: {list(OPTIONS)}')
    return ListMessage(
        job=job,
        kwargs=kwargs,
        args=tuple(args),
        job_id=_text(job, options, "job_id"),
        queue=_text(job, options, "queue"),
        defer_by=_seconds(job, options, "defer_by"),
        defer_until=_moment(job, options.get("defer_until")),
        expires=_seconds(job, options, "expires"),
        priority=options.get("priority"),  # checked by plan_job
    )


def plan(message: ListMessage, source: str) -> tuple[JobSpec, JobPlan]:
    """The job's spec and write plan; raises :class:`MalformedMessage` for anything ``enqueue`` would refuse
    (``plan_job`` checks queue routing, deferral, expiry, priority and serialization, as for ``enqueue``).

    Without ``options.job_id`` (and for a job that is not ``unique``) the id is ``list:<source>:<uuid>``:
    one per message, so two identical messages pushed on purpose run twice. Exactly-once enqueue comes
    from the atomic commit, not from the id.
    """
    try:
        spec = registry.get(message.job)
    except ArqDjangoError as e:
        raise MalformedMessage(f"unknown type {message.job!r}: {e}") from e
    check_arguments(spec, message.args, message.kwargs)
    try:
        job_plan = plan_job(
            spec.name,
            message.args,
            message.kwargs,
            job_id=message.job_id,
            queue_name=message.queue,
            defer_by=message.defer_by,
            defer_until=message.defer_until,
            expires=message.expires,
            priority=message.priority,
        )
    except (ArqDjangoError, TypeError, ValueError) as e:
        raise MalformedMessage(str(e)) from e
    except RecursionError as e:
        raise MalformedMessage(f"the data of {spec.name!r} is nested too deeply to encode") from e
    check_bounds(spec.name, job_plan)
    if not job_plan.guarded:
        # A generated id: say where the job came from (the payload does not hold the id).
        job_plan = dataclasses.replace(job_plan, job_id=f"list:{source}:{job_plan.job_id}")
    return spec, job_plan


def check_bounds(job: str, job_plan: JobPlan) -> None:
    """Refuse run-at times and expiries Redis or a ``datetime`` cannot hold, before any write."""
    run_at = job_plan.score + job_plan.shift_ms
    if not 0 < run_at <= LATEST_MS or not 0 < timestamp_ms() + job_plan.expires_ms <= LATEST_MS:
        raise MalformedMessage(
            f"job {job!r}: its run-at time or expiry lies after the year 9999; defer or expire it by less"
        )


def check_arguments(spec: JobSpec, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Refuse ``data`` the handler cannot accept now, rather than as a failed job later."""
    signature = inspect.signature(spec.func)
    try:
        signature.bind(None, *args, **kwargs)
    except TypeError as e:
        params = list(signature.parameters.values())[1:]  # after ctx
        shown = ", ".join(str(p.replace(annotation=p.empty)) for p in params)
        raise MalformedMessage(f"data does not fit job {spec.name}({shown}): {e}") from e


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


def _text(job: str, options: dict[str, Any], name: str) -> str | None:
    value = options.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise MalformedMessage(f"options.{name} of {job!r} must be a non-empty string, got {value!r}")
    if not value.isprintable():
        # A NUL, a line break or a lone surrogate: Redis keys, log lines and the mirror would mangle it.
        raise MalformedMessage(
            f"options.{name} of {job!r} holds a control character or a lone surrogate ({value[:80]!r}); "
            "use printable text"
        )
    if name == "job_id" and len(value) > MAX_JOB_ID:
        raise MalformedMessage(
            f"options.job_id of {job!r} is {len(value)} characters long ({value[:40]!r}...); "
            f"the limit is {MAX_JOB_ID}"
        )
    return value


def _seconds(job: str, options: dict[str, Any], name: str) -> float | None:
    value = options.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise MalformedMessage(f"options.{name} of {job!r} must be a number of seconds, got {value!r}")
    limit = LATEST_MS // 1000
    if not (isinstance(value, int) or math.isfinite(value)) or abs(value) > limit:
        raise MalformedMessage(
            f"options.{name} of {job!r} must be a finite number of seconds up to {limit}, got {value!r}"
        )
    return float(value)


def _moment(job: str, value: Any) -> datetime | None:
    """``options.defer_until``: an ISO 8601 string or epoch seconds."""
    if value is None:
        return None
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, UTC)
        if isinstance(value, str):
            return datetime.fromisoformat(value)
    except (ValueError, OverflowError, OSError):
        pass
    raise MalformedMessage(
        f"options.defer_until of {job!r} must be an ISO 8601 time or epoch seconds, got {value!r}"
    )
