"""pytest plugin for arq's own suite: every ``arq.Worker`` the tests build is arq_django's worker.

Loaded with ``-p arq_suite_plugin`` (``run.py``) before arq's conftest is imported, so the conftest's and
the test modules' ``from arq.worker import Worker`` bind our class, and arq's ``create_worker`` /
``run_worker`` / CLI build it through :mod:`arq_django.worker.cli`. The serializer stays arq's default
(pickle), as arq's tests expect. Tests listed in :mod:`replaced` are skipped with their reason.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import arq
import arq.worker
import pytest
from replaced import REPLACED

from arq_django.worker import cli as cli_dispatch
from arq_django.worker.execute import Worker


class SuiteWorker(Worker):
    """arq_django's worker with its own defaults (burst mode included: ``burst_wait_deferred`` stays
    off, arq's tests pass without arq's burst rule), counting the workers the tests build."""

    built = 0
    """Workers built during the run: ``run.py`` fails a run in which the swap did not take."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        SuiteWorker.built += 1
        super().__init__(*args, **kwargs)


arq.worker.Worker = SuiteWorker  # type: ignore[misc]
arq.Worker = SuiteWorker  # type: ignore[misc]
cli_dispatch.install()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        reason = REPLACED.get(item.nodeid)
        if reason is not None:
            item.add_marker(pytest.mark.skip(reason=f"replaced by design: {reason}"))


def pytest_sessionfinish() -> None:
    Path(os.environ["ARQ_SUITE_BUILT_FILE"]).write_text(str(SuiteWorker.built))
