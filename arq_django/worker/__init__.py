"""The worker: a Django-aware arq worker (``settings`` builds it, ``loop`` runs it, ``execute`` runs a try).

``arq arq_django.worker.WorkerSettings`` keeps working: ``WorkerSettings`` is looked up lazily, so importing
``arq_django.worker.loop`` (or any other module here) does not boot Django; only ``WorkerSettings`` does,
through ``arq_django.worker.entry``.

The worker runs on arq (``pip install 'arq-django[worker]'``); the producer side does not need it, and
imports the modules here that do not import arq (heartbeats, stats, events) without it.
"""

from __future__ import annotations

from typing import Any

NEEDS_ARQ = "arq_django's worker needs the arq package: pip install 'arq-django[worker]'"


def require_arq() -> None:
    """Raise ``ImportError`` saying which extra to install, where the worker starts without arq."""
    try:
        import arq  # noqa: F401
    except ImportError as e:
        raise ImportError(NEEDS_ARQ) from e


def __getattr__(name: str) -> Any:
    if name == "WorkerSettings":
        require_arq()
        from arq_django.worker.entry import WorkerSettings

        return WorkerSettings
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
