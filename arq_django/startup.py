"""What every process does once at app start (``AppConfig.ready``), so that its first ``enqueue()``
pays for that job alone: a web worker's first request after a deploy, or a script's one job.

- The installed apps' job modules (``JOB_MODULES``) are imported, as Django's admin imports every
  app's ``admin`` module at start: a name is then found at once, not by importing modules on the
  first call's clock (about 1 ms in a small project, more with heavy job modules). A job module that
  fails to import fails start-up, naming the module, as a broken ``admin.py`` does.
- The ``idna`` codec is imported: the first connection to a server by name (redis-py's
  ``getaddrinfo``, ``127.0.0.1`` included) loads it otherwise, about 0.8 ms.
- With the result mirror on at enqueue, its row builder and buffer are imported.

The costs move to start-up, where Django's own imports are paid; a one-shot script pays them either way.
Invalid ``ARQ_DJANGO`` settings skip all this: ``manage.py check`` reports them, as does every call.
"""

from __future__ import annotations

import importlib

from django.core.exceptions import ImproperlyConfigured

from arq_django.conf import get_config
from arq_django.jobs.registry import registry


def warm_up() -> None:
    """Import, once, what a process's first enqueue would otherwise import on its caller's clock."""
    try:
        config = get_config()
    except ImproperlyConfigured:
        return  # the system checks name each bad setting; a crash here would hide them
    registry.autodiscover()
    importlib.import_module("encodings.idna")
    if config.mirror and config.mirror_on_enqueue:
        importlib.import_module("arq_django.mirror.enqueued")  # and the buffer it writes through
