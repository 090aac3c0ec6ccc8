"""Log output for the worker commands when the project has not configured it.

A new project has no ``LOGGING`` entry for ``arq`` or ``arq_django``, so their INFO lines (the worker's
start line, the jobs of its queue, every job) would never show and warnings would print bare. The
commands give each of the two loggers a console handler unless the project's own configuration
already reaches it (a handler on it or on an ancestor, the root included); ``--log-level`` sets the
level either way, as Celery's ``-l info`` does.
"""

from __future__ import annotations

import logging

LOGGERS = ("arq", "arq_django")
FORMAT = "%(asctime)s: %(message)s"
"""arq's own CLI format, so ``manage.py arq_worker`` and ``arq ...WorkerSettings`` look alike."""
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def configure(level: str | None = None, *, verbose: bool = False) -> None:
    """Give ``arq`` and ``arq_django`` a console handler where the project's logging left them none.

    ``level`` (a name from :data:`LEVELS`) is applied to both loggers even when the project configured
    them; without it, loggers given a handler here log INFO (DEBUG with ``verbose``).
    """
    default = "DEBUG" if verbose else "INFO"
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not logger.hasHandlers():
            handler = logging.StreamHandler()
            handler.setFormatter(logging.Formatter(FORMAT, "%H:%M:%S"))
            logger.addHandler(handler)
            logger.setLevel(level or default)
        elif level is not None:
            logger.setLevel(level)
