"""The worker: a Django-aware arq worker (``settings`` builds it, ``loop`` runs it, ``execute`` runs a try).

``arq arq_django.worker.WorkerSettings`` keeps working: ``WorkerSettings`` is looked up lazily, so importing
``arq_django.worker.loop`` (or any other module here) does not boot Django; only ``WorkerSettings`` does,
through ``arq_django.worker.entry``.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "WorkerSettings":
        from arq_django.worker.entry import WorkerSettings

        return WorkerSettings
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
