"""Stand-in worker processes for ``tests/worker/test_supervisor.py``: spawned by the supervisor, so they
live in an importable module. Each start appends a line to ``$SUPERVISOR_TEST_LOG``."""

from __future__ import annotations

import os
import signal
import sys
import time
from typing import Any


def _started() -> None:
    with open(os.environ["SUPERVISOR_TEST_LOG"], "a") as log:
        log.write(f"{os.getpid()}\n")


def exits_with_3(options: Any, parent: int) -> None:
    """A worker that dies at once, as one whose ``SYNC_OVERRUN_LIMIT`` tripped would."""
    _started()
    sys.exit(3)


def finishes(options: Any, parent: int) -> None:
    """A burst worker whose queue is empty."""
    _started()


def ignores_sigterm(options: Any, parent: int) -> None:
    """A worker stuck in a job that never returns."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _started()
    time.sleep(600)
