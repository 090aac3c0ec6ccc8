"""``python -m tests.no_arq``: the producer side in a process where ``import arq`` fails, as in a venv
installed without ``arq-django[worker]`` (tests/test_producer_without_arq.py runs it).

It boots the test settings, imports every module that is not the worker's, runs the system checks and
the migrations, enqueues (sync, async, on commit), reads and aborts through handles, reads the ops
status and the health report, then prints what it saw as JSON on its last line.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.abc
import json
import os
import pkgutil
import sys
from typing import Any


class BlockArq(importlib.abc.MetaPathFinder):
    """``import arq`` (or any ``arq.*``) fails as if the package were not installed."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> None:
        if name == "arq" or name.startswith("arq."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)


def worker_modules() -> set[str]:
    """The modules allowed to import arq: ``arq_django.worker``'s, and the command that runs one."""
    import arq_django.worker

    names = {m.name for m in pkgutil.walk_packages(arq_django.worker.__path__, "arq_django.worker.")}
    return names | {"arq_django.management.commands.arq_worker"}


def main() -> None:
    sys.meta_path.insert(0, BlockArq())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings.test")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction

    import arq_django
    from arq_django import JobHandle, aenqueue, enqueue, enqueue_on_commit
    from arq_django.health import health_report
    from arq_django.ops.status import read_status

    skipped = worker_modules()
    imported = []
    for module in pkgutil.walk_packages(arq_django.__path__, "arq_django."):
        if module.name in skipped or ".migrations" in module.name:
            continue
        importlib.import_module(module.name)
        imported.append(module.name)
    call_command("check", fail_level="ERROR")
    call_command("migrate", interactive=False, verbosity=0)

    handle = enqueue("add", 1, 2)
    assert handle is not None
    deferred = enqueue("echo", "later", _defer_by=3600)
    assert deferred is not None
    with transaction.atomic():
        on_commit = enqueue_on_commit("add", 3, 4)
    async_handle = asyncio.run(aenqueue("add", 5, 6))
    assert async_handle is not None
    info = handle.info()
    assert info is not None
    statuses = [handle.status(), JobHandle(deferred.job_id).status(), asyncio.run(async_handle.astatus())]
    aborted = deferred.abort()
    errors = {}
    try:
        from arq_django.worker import WorkerSettings  # noqa: F401
    except ImportError as e:
        errors["WorkerSettings"] = str(e)
    try:
        call_command("arq_worker", "--burst")
    except ImportError as e:
        errors["arq_worker"] = str(e)
    print(
        json.dumps(
            {
                "imported": imported,
                "arq_loaded": sorted(m for m in sys.modules if m == "arq" or m.startswith("arq.")),
                "status": statuses,
                "on_commit": on_commit.job_id if on_commit else None,
                "info": [info.function, list(info.args)],
                "aborted": aborted,
                "depth": [
                    (q.depth.queued, q.depth.deferred)
                    for q in read_status().queues
                    if q.depth.queue == "arq:queue"
                ],
                "health": sorted(health_report().checks),
                "errors": errors,
            }
        )
    )


if __name__ == "__main__":
    main()
