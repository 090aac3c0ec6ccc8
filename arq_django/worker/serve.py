"""What ``manage.py arq_worker`` runs: logging, the wait for Redis, then the worker, in this process or,
with ``--watch``, in a fresh process started again whenever a file under the watched path changes.

arq's own ``--watch`` restarts the worker inside the same process, where the edited job modules stay
imported with their old code; a new process imports them anew.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from arq.worker import run_worker
from django.core.exceptions import ImproperlyConfigured

from arq_django.worker import logs

logger = logging.getLogger("arq_django.worker")


@dataclass(frozen=True)
class ServeOptions:
    """The worker command's options (picklable: a watched worker gets them in a new process)."""

    queue: str | None = None
    overrides: dict[str, Any] = field(default_factory=dict, hash=False)
    """Worker options given on the command line (``max_jobs``, ``burst``)."""
    log_level: str | None = None
    verbose: bool = False
    redis_retries: int | None = None
    """Failed Redis connection attempts before giving up; ``None``: keep trying."""


def serve(options: ServeOptions) -> None:
    """Run one worker in this process until it stops."""
    from arq_django.worker.settings import settings_class  # after django.setup() in a watched child

    logs.configure(options.log_level, verbose=options.verbose)
    # arq's run_worker builds the worker through cli_dispatch.create_worker, which waits for Redis.
    worker_settings = settings_class(options.queue, redis_retries=options.redis_retries, **options.overrides)
    run_worker(worker_settings)  # type: ignore[arg-type]


def _serve_in_child(options: ServeOptions) -> None:
    import django

    django.setup()  # DJANGO_SETTINGS_MODULE and sys.path come from the parent
    serve(options)


def _changed(changes: set[tuple[Any, str]]) -> None:
    paths = sorted({path for _, path in changes})
    shown = ", ".join(paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
    logger.info("files changed (%s): starting a new worker process", shown)


def serve_watching(path: str, options: ServeOptions) -> None:
    """Run the worker in a child process, replaced by a new one whenever a ``.py`` file under ``path``
    changes."""
    try:
        import watchfiles
    except ImportError as e:
        raise ImproperlyConfigured(
            "arq_worker --watch needs the watchfiles package: pip install 'arq-django[watch]'"
        ) from e
    logs.configure(options.log_level, verbose=options.verbose)
    logger.info("watching %s: the worker restarts in a new process when a .py file changes", path)
    # Python files only: the worker's own writes (a SQLite database, logs) must not restart it.
    watchfiles.run_process(
        path,
        target=_serve_in_child,
        args=(options,),
        callback=_changed,
        watch_filter=watchfiles.PythonFilter(),
    )
