"""Wire :mod:`arq_django.tasks` in at app start, only when ``TASKS`` names :class:`ArqBackend`: then the
tasks framework must be importable, and the worker resolves ``@task`` functions by ``module_path``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings

if TYPE_CHECKING:
    from arq.worker import Function

BACKEND_PREFIX = "arq_django.tasks"


def configured() -> bool:
    """Whether any ``TASKS`` backend is ours."""
    tasks = getattr(settings, "TASKS", None)
    if not isinstance(tasks, dict):
        return False
    return any(
        isinstance(conf, dict) and str(conf.get("BACKEND", "")).startswith(BACKEND_PREFIX)
        for conf in tasks.values()
    )


def install() -> None:
    """Register the task resolver and the tasks system check (idempotent)."""
    if not configured():
        return
    from arq_django.jobs.registry import registry
    from arq_django.tasks import checks  # noqa: F401  (registers the check)
    from arq_django.tasks.resolve import resolve_task

    registry.add_resolver(resolve_task)


async def _idle(ctx: dict[str, Any]) -> None:
    """Never enqueued: it only gives a tasks-only worker the one function arq insists on."""


def placeholder() -> Function:
    """The function a worker registers when ``@task`` functions (resolved on use) are all it runs."""
    from arq.worker import func  # the worker's side only (arq-django[worker])

    return func(_idle, name="arq_django.tasks:idle")
