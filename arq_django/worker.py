"""``arq arq_django.worker.WorkerSettings``: importing this module boots Django and registers every job.

``DJANGO_SETTINGS_MODULE`` comes from the environment (default: the example project's
``settings.dev``); ``ARQ_QUEUE=name`` selects the queue this worker serves.
"""

from __future__ import annotations

import os

import django
from django.apps import apps

if not apps.ready:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings.dev")
    django.setup()

from .worker_settings import apply, build


class WorkerSettings:
    """Options for ``arq``'s CLI; filled in below as attributes of this class itself."""


apply(WorkerSettings, build(os.environ.get("ARQ_QUEUE") or None))
