"""Unique jobs: one id per (job, arguments), so the same call is queued at most once at a time.

``@job(unique=True)`` derives the job id from the job's name and a SHA-256 of its arguments in
canonical JSON (sorted keys, sets sorted), so every producer computes the same id. Enqueue takes arq's
guarded path with that id: while a job with the id is queued, deferred, retrying or running, a second
enqueue returns ``None``.

Once the job ends, the id is free again, unless ``unique_for`` is set: then the worker writes a marker
key ``arq_django:unique:<id>`` with that TTL as the job ends (before arq removes the job record), and
enqueue treats the marker like a pending job. A separate marker, rather than arq's result key, keeps
the window independent of ``keep_result``: a new enqueue after the window replaces the old result.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from arq_django import keys
from arq_django.serializers import TAG, json_dumps

MARKER_PREFIX = keys.UNIQUE_MARKER_PREFIX
Handler = Callable[..., Awaitable[Any]]


marker_key = keys.marker_key


def _canonical(value: Any) -> Any:
    """The tagged JSON form with set members sorted (their order varies between processes)."""
    if isinstance(value, dict):
        if value.get(TAG) == "set" and isinstance(value.get("v"), list):
            members = [_canonical(v) for v in value["v"]]
            return {TAG: "set", "v": sorted(members, key=lambda m: json.dumps(m, sort_keys=True))}
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return value


def unique_job_id(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """``unique:<name>:<sha256 of the canonical JSON of args and kwargs>``.

    Raises ``TypeError`` for arguments JSON cannot hold (the caller reports which).
    """
    tagged = json.loads(json_dumps([list(args), kwargs]))  # tags kept as plain dicts
    text = json.dumps(_canonical(tagged), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return f"unique:{name}:{hashlib.sha256(text.encode()).hexdigest()}"


def hold_for(handler: Handler, window_s: float) -> Handler:
    """``handler`` that keeps its job id taken for ``window_s`` after each try ends."""
    window_ms = max(round(window_s * 1000), 1)

    @functools.wraps(handler)
    async def holding(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return await handler(ctx, *args, **kwargs)
        finally:
            # Written before arq deletes the job record, so the id is never free in between. A try
            # that is retried rewrites it later; harmless, as the pending job blocks the id anyway.
            await ctx["redis"].set(marker_key(ctx["job_id"]), b"1", px=window_ms)

    return holding
