"""Retries with exponential backoff: listed exceptions become ``arq_django.Retry(defer=...)``.

The delay after failed try ``n`` (1-based) is ``min(retry_backoff * 2 ** (n - 1), retry_backoff_max)``
seconds (Celery's rule); with ``retry_jitter`` it is drawn uniformly from ``[0, that]`` ("full jitter",
so many jobs failing together do not come back together). On the job's last try the exception is
raised as it is, so the job fails with its real error rather than arq's "max retries exceeded".
"""

from __future__ import annotations

import asyncio
import functools
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from arq_django.conf import get_config
from arq_django.exceptions import RetryRequested

if TYPE_CHECKING:
    from arq.worker import Retry as ArqRetry

Handler = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class RetryPolicy:
    """Which exceptions retry a job, and how long to wait before each new try."""

    retry_on: tuple[type[Exception], ...]
    backoff: float = 1.0
    """Seconds before the second try; doubles for every further try."""
    backoff_max: float = 600.0
    """Upper bound of any one delay, in seconds."""
    jitter: bool = True
    """Draw each delay uniformly from ``[0, delay]``."""

    def cap(self, job_try: int) -> float:
        """The delay (seconds) after failed try ``job_try`` before jitter."""
        exponent = min(max(job_try, 1) - 1, 64)  # 2**64 s is past any backoff_max; avoids overflow
        return float(min(self.backoff * 2.0**exponent, self.backoff_max))

    def delay(self, job_try: int) -> float:
        cap = self.cap(job_try)
        return random.uniform(0.0, cap) if self.jitter else cap

    def retries(self, exc: BaseException) -> bool:
        return isinstance(exc, self.retry_on)

    @property
    def retries_timeouts(self) -> bool:
        """A timeout is an exception this policy retries (``TimeoutError`` or a base class is listed)."""
        return any(issubclass(TimeoutError, exc) for exc in self.retry_on)


@functools.cache
def retry_exceptions() -> tuple[type[RetryRequested | ArqRetry], ...]:
    """What asks for another try: ``arq_django.Retry``, and arq's own ``Retry`` where arq is installed
    (a worker), so jobs written for arq keep retrying. Looked up when a job runs, never at import: the
    producer side imports this module without the ``arq`` package."""
    try:
        from arq.worker import Retry as ArqRetry
    except ImportError:  # no arq-django[worker] here: nothing can raise arq's Retry
        return (RetryRequested,)
    return (RetryRequested, ArqRetry)


def max_tries(ctx: dict[str, Any], own: int | None) -> int:
    """The job's tries: its own ``max_tries``, else the worker's (``ctx['worker']``), else the setting."""
    if own is not None:
        return own
    worker = ctx.get("worker")
    value = getattr(worker, "max_tries", None)
    return value if isinstance(value, int) else get_config().max_tries


def with_retries(handler: Handler, policy: RetryPolicy, own_max_tries: int | None) -> Handler:
    """``handler`` raising ``Retry(defer=backoff)`` for the policy's exceptions, except on the last try."""
    retries = retry_exceptions()

    @functools.wraps(handler)
    async def retrying(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return await handler(ctx, *args, **kwargs)
        except retries:
            raise
        except Exception as e:
            job_try = int(ctx.get("job_try") or 1)
            if not policy.retries(e) or job_try >= max_tries(ctx, own_max_tries):
                raise
            raise RetryRequested(defer=policy.delay(job_try)) from e

    return retrying


def with_timeout(handler: Handler, timeout_s: float) -> Handler:
    """``handler`` raising ``TimeoutError`` after ``timeout_s`` itself, so a retry policy can see it.

    arq's own timeout cancels the job from outside, where no policy can turn it into a retry; the
    caller gives arq a slightly longer timeout as a backstop.
    """

    @functools.wraps(handler)
    async def timed(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        deadline = asyncio.timeout(timeout_s)
        try:
            async with deadline:
                return await handler(ctx, *args, **kwargs)
        except TimeoutError:
            if not deadline.expired():  # the handler's own TimeoutError
                raise
            raise TimeoutError(f"timed out after {timeout_s:g} s") from None

    return timed
