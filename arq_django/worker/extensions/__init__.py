"""Worker extensions: the one seam through which anything takes part in a worker's life.

A :class:`~arq_django.worker.extensions.base.WorkerExtension` has typed hooks (``on_start``,
``on_stop``, ``job_context``, ``job_started``, ``job_ended``). The worker is built with a list of them
(:mod:`.configured`: the built-in ones, then ``ARQ_DJANGO["WORKER_EXTENSIONS"]``) and runs them through
:class:`~arq_django.worker.extensions.chain.Extensions`, so a reader, and mypy, can follow every job event
from :mod:`arq_django.worker.execute` into the result mirror, the counters, the heartbeat and the signals.
"""

from __future__ import annotations

from arq_django.worker.extensions.base import ExtensionFactory, WorkerExtension, WorkerHost

__all__ = ["ExtensionFactory", "WorkerExtension", "WorkerHost"]
