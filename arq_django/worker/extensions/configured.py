"""Which extensions a worker runs: the built-in ones, chosen from ``ARQ_DJANGO``, then the user's
``ARQ_DJANGO["WORKER_EXTENSIONS"]`` (dotted paths to ``WorkerExtension`` subclasses or to functions
returning one), in that order.

Built-ins, in start order (they stop in reverse): database hygiene, ``ctx["progress"]``, the result
mirror (``MIRROR``), the outcome counters, the heartbeat, the Django signals and list ingestion
(``LIST_SOURCES``). The sync-handler thread pool is the worker's own and starts before all of them
(:class:`~arq_django.worker.threads.SyncThreads`). User extensions start last, so the mirror has a
job's row before a user's ``job_ended`` sees it, and they stop first.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from arq_django.conf import Config, get_config
from arq_django.ingest.background import ListIngestion
from arq_django.jobs.progress import ProgressReports
from arq_django.signals import SignalSender
from arq_django.worker.db_hygiene import DbHygiene
from arq_django.worker.extensions.base import ExtensionFactory, WorkerExtension
from arq_django.worker.heartbeat import Heartbeat
from arq_django.worker.stats import JobStats

SETTING = "ARQ_DJANGO['WORKER_EXTENSIONS']"
FIX = (
    "Point it at a subclass of arq_django.WorkerExtension that takes no arguments, or at a function "
    "returning an instance of one, e.g. 'myapp.extensions.AuditExtension'."
)


def _mirror() -> WorkerExtension:
    from arq_django.mirror.listener import Mirror  # models load only once apps are ready

    return Mirror.from_config(get_config())


def builtin(config: Config) -> list[ExtensionFactory]:
    """The built-in extensions ``config`` turns on, in start order."""
    factories: list[ExtensionFactory] = [DbHygiene, ProgressReports]
    if config.mirror:
        factories.append(_mirror)
    factories += [JobStats, Heartbeat, SignalSender]
    if config.list_sources:
        factories.append(ListIngestion)
    return factories


def load(path: str) -> ExtensionFactory:
    """The factory ``path`` names; ``ImproperlyConfigured`` naming the path and the fix if it is not one."""
    try:
        target = import_string(path)
    except Exception as e:
        raise ImproperlyConfigured(
            f"{SETTING} entry {path!r} cannot be imported ({type(e).__name__}: {e}). {FIX}"
        ) from e
    if isinstance(target, type):
        if not issubclass(target, WorkerExtension):
            raise ImproperlyConfigured(
                f"{SETTING} entry {path!r} is a class but not a subclass of arq_django.WorkerExtension. {FIX}"
            )
    elif not callable(target):
        raise ImproperlyConfigured(
            f"{SETTING} entry {path!r} is a {type(target).__name__}, not a class or a function. {FIX}"
        )

    def build() -> WorkerExtension:
        try:
            extension = target()
        except Exception as e:
            raise ImproperlyConfigured(
                f"{SETTING} entry {path!r} could not be built ({type(e).__name__}: {e}). {FIX}"
            ) from e
        if not isinstance(extension, WorkerExtension):
            raise ImproperlyConfigured(
                f"{SETTING} entry {path!r} returned a {type(extension).__name__}, not a WorkerExtension. "
                f"{FIX}"
            )
        return extension

    build.__qualname__ = path
    return build


def problems(paths: tuple[str, ...]) -> list[str]:
    """Why each of ``paths`` cannot serve as an extension (the system check's messages)."""
    found = []
    for path in paths:
        try:
            load(path)
        except ImproperlyConfigured as e:
            found.append(str(e))
    return found


def factories(config: Config) -> list[ExtensionFactory]:
    """Every extension a worker built from ``config`` runs, in start order."""
    return [*builtin(config), *(load(path) for path in config.worker_extensions)]
