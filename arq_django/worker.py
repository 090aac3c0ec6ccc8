"""``arq arq_django.worker.WorkerSettings``: importing this module boots Django and registers every job.

``DJANGO_SETTINGS_MODULE`` comes from the environment and must be set (the package cannot guess your
project); ``ARQ_QUEUE=name`` selects the queue this worker serves.
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
    from .logs import configure

    configure()  # arq's CLI configures its own logger only, after this import: ours would stay silent

from .worker_settings import apply, build


class WorkerSettings:
    """Options for ``arq``'s CLI; filled in below as attributes of this class itself."""


apply(WorkerSettings, build(os.environ.get("ARQ_QUEUE") or None))
