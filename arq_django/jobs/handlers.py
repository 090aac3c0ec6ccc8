"""Wrap registered handlers as arq functions: async ones as they are, sync ones in a thread pool; then
the job's options around them (timeout a retry can see, retries with backoff, the unique window), and
cron jobs as arq ``CronJob`` entries. Only :func:`to_function` and :func:`to_cron_job` need the ``arq``
package (the worker's side); the producer imports this module without it.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.db import close_old_connections

from arq_django.exceptions import PayloadError
from arq_django.jobs.progress import CTX_KEY as PROGRESS_KEY
from arq_django.jobs.progress import ProgressReporter
from arq_django.jobs.registry import JobSpec
from arq_django.jobs.retry import with_retries, with_timeout
from arq_django.jobs.unique import hold_for
from arq_django.serializers import get_serializer
from arq_django.worker.threads import SyncThreads

if TYPE_CHECKING:
    from arq.cron import CronJob
    from arq.worker import Function

logger = logging.getLogger("arq_django.jobs.handlers")


def _call_sync(handler: Callable[..., Any], ctx: dict[str, Any], args: Any, kwargs: Any) -> Any:
    # A long-lived worker thread must not reuse a connection the database has dropped (CONN_MAX_AGE,
    # server restarts): the same hygiene Django applies around every request.
    close_old_connections()
    try:
        return handler(ctx, *args, **kwargs)
    finally:
        close_old_connections()


def wrap_sync(spec: JobSpec, threads: SyncThreads | None = None) -> Callable[..., Any]:
    """A coroutine function running ``spec.func`` in ``threads`` (the worker's pool; without one, the
    event loop's default executor)."""
    handler = spec.func
    pool = threads if threads is not None else SyncThreads()  # never opened: the default executor

    @functools.wraps(handler)
    async def run_in_thread(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        reporter = ctx.get(PROGRESS_KEY)
        if isinstance(reporter, ProgressReporter):
            ctx = {**ctx, PROGRESS_KEY: reporter.sync}  # sync handlers call ctx["progress"] without await
        return await pool.run(str(ctx.get("job_id")), _call_sync, handler, ctx, args, kwargs)

    return run_in_thread


_PLAIN_RESULTS = frozenset({type(None), bool, int, float, str})


def storable(coroutine: Callable[..., Any], job_name: str) -> Callable[..., Any]:
    """Fail the job, naming the type and the fix, when its result cannot be serialized.

    arq would store ``"unable to serialize result"`` as a failure while the worker reports the job
    complete; raising here makes the handle, the mirror and the commands all say ``failed``.
    """
    serializer = get_serializer()

    @functools.wraps(coroutine)
    async def checked(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        result = await coroutine(ctx, *args, **kwargs)
        if type(result) not in _PLAIN_RESULTS:
            try:
                serializer.dumps(result)
            except Exception as e:
                raise PayloadError(
                    f"job {job_name!r} returned a {type(result).__module__}.{type(result).__qualname__} "
                    f"that the {serializer.name!r} serializer cannot store as its result: {e}. Return plain "
                    "data (str, numbers, lists, dicts with str keys, datetime, Decimal, UUID, bytes)."
                ) from e
        return result

    return checked


TIMEOUT_BACKSTOP = 1.0
"""Seconds arq's own timeout waits beyond a job's, when the job enforces its timeout itself."""


def coroutine_for(
    spec: JobSpec, default_timeout: float, threads: SyncThreads | None = None
) -> tuple[Callable[..., Any], float | None]:
    """The coroutine function arq runs for ``spec`` (a sync one in ``threads``), and the timeout to give
    arq for it."""
    coroutine: Callable[..., Any] = spec.func if spec.is_async else wrap_sync(spec, threads)
    timeout = spec.timeout
    if spec.retry is not None:
        if spec.retry.retries_timeouts:
            # arq cancels a timed-out job from outside, where no retry policy sees it: time the
            # handler here instead and keep arq's timeout as a backstop.
            own = default_timeout if spec.timeout is None else spec.timeout
            coroutine = with_timeout(coroutine, own)
            timeout = own + TIMEOUT_BACKSTOP
        coroutine = with_retries(coroutine, spec.retry, spec.max_tries)
    if spec.unique_for:
        coroutine = hold_for(coroutine, spec.unique_for)
    return storable(coroutine, spec.name), timeout


def to_function(
    spec: JobSpec, default_timeout: float = 300.0, threads: SyncThreads | None = None
) -> Function:
    """arq's ``Function`` for one registered job, keeping its per-job options.

    ``default_timeout`` is the worker's ``job_timeout``, used when the job times itself; ``threads`` the
    worker's pool for sync handlers.
    """
    from arq.worker import func

    coroutine, timeout = coroutine_for(spec, default_timeout, threads)
    return func(
        coroutine,
        name=spec.name,
        timeout=timeout,
        max_tries=spec.max_tries,
        keep_result=spec.keep_result,
    )


def to_cron_job(spec: JobSpec, default_timeout: float = 300.0, threads: SyncThreads | None = None) -> CronJob:
    """arq's ``CronJob`` for a job with ``cron=``: same name, called with ``ctx`` and ``cron_kwargs``.

    Unlike arq's default (no result), a tick keeps its result for the job's ``keep_result`` (else the
    worker's): the result holds the tick's id ``<name>:<run-at ms>``, so a worker that enqueues the
    tick late, after another already ran it, cannot run it again.
    """
    from arq.cron import cron

    if spec.cron is None:
        raise ValueError(f"job {spec.name!r} has no cron schedule")
    coroutine, timeout = coroutine_for(spec, default_timeout, threads)
    cron_kwargs = dict(spec.cron_kwargs or {})
    if cron_kwargs:
        inner = coroutine

        @functools.wraps(inner)
        async def with_cron_kwargs(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
            return await inner(ctx, *args, **{**cron_kwargs, **kwargs})

        coroutine = with_cron_kwargs
    return cron(
        coroutine,
        name=spec.name,
        **spec.cron.arq_kwargs(),
        run_at_startup=spec.run_at_startup,
        timeout=timeout,
        keep_result=spec.keep_result,
        max_tries=spec.max_tries or 1,
    )
