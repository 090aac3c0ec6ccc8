"""``arq arq_django.worker.WorkerSettings`` (via ``arq_django.worker.__getattr__``): importing this module
boots Django and registers every job.

``DJANGO_SETTINGS_MODULE`` comes from the environment and must be set (the package cannot guess your
project); ``ARQ_QUEUE=name`` selects the queue this worker serves; ``ARQ_REDIS_RETRIES=N`` stops a worker
whose Redis does not answer after N more attempts (unset: it keeps trying).
"""

from __future__ import annotations

import os

import django
from django.apps import apps

if not apps.ready:
    if not os.environ.get("DJANGO_SETTINGS_MODULE"):
        # One line instead of a traceback through arq's CLI: SystemExit prints its message and exits 1.
        raise SystemExit(
            "arq_django: DJANGO_SETTINGS_MODULE is not set: set DJANGO_SETTINGS_MODULE=yourproject.settings, "
            "or run python manage.py arq_worker"
        )
    django.setup()
    from arq_django.worker.logs import configure

    configure()  # arq's CLI configures its own logger only, after this import: ours would stay silent

from arq_django.worker.settings import apply, build


class WorkerSettings:
    """Options for ``arq``'s CLI; filled in below as attributes of this class itself."""


_retries = os.environ.get("ARQ_REDIS_RETRIES")  # failed attempts to reach Redis at start; unset: no limit
if _retries is not None and not _retries.isdigit():
    raise SystemExit(f"arq_django: ARQ_REDIS_RETRIES must be a whole number, got {_retries!r}")
apply(
    WorkerSettings,
    build(os.environ.get("ARQ_QUEUE") or None, redis_retries=None if _retries is None else int(_retries)),
)
