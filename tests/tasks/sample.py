"""Task functions the contract tests enqueue; workers import them by module_path (never registered)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from arq_django.tasks import task_options
from arq_django.tasks.compat import TaskContext

try:
    from django.tasks import task  # type: ignore[attr-defined,unused-ignore]
except ImportError:
    from django_tasks import task  # type: ignore[no-redef,unused-ignore]


class Boom(Exception):
    """A task's own exception class (its path must come back in TaskError)."""


@task
def add(a: int, b: int) -> int:
    return a + b


@task()
async def aadd(a: int, b: int) -> int:
    await asyncio.sleep(0)
    return a + b


@task
def echo(*args: Any, **kwargs: Any) -> dict[str, Any]:
    return {"args": list(args), "kwargs": kwargs}


@task
def fail(message: str) -> None:
    raise Boom(message)


@task(takes_context=True)
def with_context(context: TaskContext, value: int) -> dict[str, Any]:
    return {
        "id": context.task_result.id,
        "attempt": context.attempt,
        "status": str(context.task_result.status),
        "value": value,
        "worker_ids": len(context.task_result.worker_ids),
    }


@task(queue_name="mail")
def on_mail(value: str) -> str:
    return f"mail:{value}"


@task
def record(path: str, value: str) -> str:
    """Append ``value`` to the file at ``path`` (order tests read it back)."""
    with Path(path).open("a") as f:
        f.write(value + "\n")
    return value


@task
def pid() -> int:
    return os.getpid()


def _flaky_path(token: str) -> Path:
    return Path(os.environ.get("TMPDIR", "/tmp")) / f"arq-django-flaky-{token}"


@task_options(max_tries=3, retry_on=OSError)
@task(takes_context=True)
def flaky(context: TaskContext, token: str) -> int:
    """Fails with OSError on its first try, then returns the attempt number."""
    marker = _flaky_path(token)
    if not marker.exists():
        marker.write_text("tried")
        raise OSError("first try fails")
    return context.attempt


@task_options(timeout=0.2)
@task
async def slow() -> None:
    await asyncio.sleep(30)


@task
async def slow_ok(seconds: float) -> str:
    await asyncio.sleep(seconds)
    return "done"
