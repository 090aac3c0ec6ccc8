"""What ``@job`` returns: the handler itself, still callable as ``handler(ctx, ...)``, with
``.enqueue(...)``, ``.aenqueue(...)`` and ``.delay(...)`` (Celery's name) attached.

The methods are typed with the handler's own parameters after ``ctx`` (``ParamSpec``), so an editor
completes them and mypy checks them; at run time they pass everything on to :func:`arq_django.client.enqueue`,
so its ``_defer_by=``-style options work too (untyped there: use ``enqueue(handler, ..., _defer_by=...)``
where the type checker should see them).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, Protocol, TypeVar, cast

from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from arq_django.client.handle import JobHandle

P = ParamSpec("P")
R_co = TypeVar("R_co", covariant=True)


class JobFunction(Protocol[P, R_co]):
    """A registered handler: call it with ``ctx`` as before, or enqueue it without."""

    job_name: str
    """The name the job is registered (and enqueued) under."""

    def __call__(self, ctx: Any, /, *args: P.args, **kwargs: P.kwargs) -> R_co: ...

    def enqueue(self, *args: P.args, **kwargs: P.kwargs) -> JobHandle | None:
        """``enqueue(<this job>, *args, **kwargs)``."""
        ...

    def delay(self, *args: P.args, **kwargs: P.kwargs) -> JobHandle | None:
        """Celery's spelling of :meth:`enqueue`."""
        ...

    def aenqueue(self, *args: P.args, **kwargs: P.kwargs) -> Awaitable[JobHandle | None]:
        """``aenqueue(<this job>, *args, **kwargs)``."""
        ...


Handler = Callable[Concatenate[Any, P], R_co]


def call_signature(job_name: str, func: Callable[..., Any]) -> inspect.Signature | None:
    """The handler's signature without ``ctx``, computed once at ``@job`` (enqueue binds against it).

    Raises ``ImproperlyConfigured`` when the handler cannot take ``ctx``: arq passes it first, so
    such a job would fail on every run. ``None`` for callables whose signature Python cannot read.
    """
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return None
    params = list(signature.parameters.values())
    first = params[0] if params else None
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    if first is None or first.kind not in (*positional, inspect.Parameter.VAR_POSITIONAL):
        raise ImproperlyConfigured(
            f"@job {job_name!r}: the handler {func.__qualname__}{signature} takes no ctx; arq calls it "
            f"as {func.__name__}(ctx, ...). Add ctx as its first parameter: def {func.__name__}(ctx, ...)."
        )
    if first.kind is inspect.Parameter.VAR_POSITIONAL:
        return signature  # def handler(*args): ctx arrives as args[0]; the rest binds as given
    return signature.replace(parameters=params[1:])


def attach(func: Callable[..., Any], job_name: str) -> JobFunction[Any, Any]:
    """Give ``func`` its name and the enqueue methods; the function object itself is returned."""

    def enqueue(*args: Any, **kwargs: Any) -> JobHandle | None:
        from arq_django.client.enqueue import (
            enqueue as enqueue_job,  # enqueue imports the registry, which imports us
        )

        return enqueue_job(job_name, *args, **kwargs)

    async def aenqueue(*args: Any, **kwargs: Any) -> JobHandle | None:
        from arq_django.client.enqueue import aenqueue as aenqueue_job

        return await aenqueue_job(job_name, *args, **kwargs)

    job = cast(Any, func)
    job.job_name = job_name
    job.enqueue = job.delay = enqueue
    job.aenqueue = aenqueue
    return cast(JobFunction[Any, Any], func)
