"""Wrap registered handlers as arq functions: async ones as they are, sync ones in a thread pool."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from arq.worker import Function, func
from django.db import close_old_connections

from .progress import CTX_KEY as PROGRESS_KEY
from .progress import ProgressReporter
from .registry import JobSpec

logger = logging.getLogger("arq_django.runner")

EXECUTOR_KEY = "arq_django_executor"
"""``ctx`` key under which the worker keeps the thread pool that runs sync handlers."""


def _call_sync(handler: Callable[..., Any], ctx: dict[str, Any], args: Any, kwargs: Any) -> Any:
    # A long-lived worker thread must not reuse a connection the database has dropped (CONN_MAX_AGE,
    # server restarts): the same hygiene Django applies around every request.
    close_old_connections()
    try:
        return handler(ctx, *args, **kwargs)
    finally:
        close_old_connections()


def wrap_sync(spec: JobSpec) -> Callable[..., Any]:
    """A coroutine function running ``spec.func`` in the worker's thread pool."""
    handler = spec.func

    @functools.wraps(handler)
    async def run_in_thread(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        executor: ThreadPoolExecutor | None = ctx.get(EXECUTOR_KEY)
        reporter = ctx.get(PROGRESS_KEY)
        if isinstance(reporter, ProgressReporter):
            ctx = {**ctx, PROGRESS_KEY: reporter.sync}  # sync handlers call ctx["progress"] without await
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(executor, _call_sync, handler, ctx, args, kwargs)

    return run_in_thread


def to_function(spec: JobSpec) -> Function:
    """arq's ``Function`` for one registered job, keeping its per-job options."""
    coroutine = spec.func if spec.is_async else wrap_sync(spec)
    return func(
        coroutine,
        name=spec.name,
        timeout=spec.timeout,
        max_tries=spec.max_tries,
        keep_result=spec.keep_result,
    )
