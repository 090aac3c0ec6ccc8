"""How arq's CLI comes to run arq_django's worker.

arq's CLI always instantiates ``arq.worker.Worker``. :func:`install` teaches arq's ``create_worker`` to
honour a ``worker_class`` attribute on a settings class, so ``arq arq_django.worker.WorkerSettings``
runs :class:`arq_django.worker.execute.Worker`; settings without that attribute (plain arq users in the
same process) are untouched. Such a worker first waits for its Redis (:mod:`arq_django.worker.redis_wait`;
``redis_retries`` on the settings limits the attempts), where arq would give up after five.
"""

from __future__ import annotations

import inspect
from typing import Any

import arq.cli
import arq.worker


def _settings_dict(settings_cls: Any) -> dict[str, Any]:
    return dict(settings_cls if isinstance(settings_cls, dict) else settings_cls.__dict__)


def create_worker(settings_cls: Any, **kwargs: Any) -> arq.worker.Worker:
    """``arq.worker.create_worker`` that builds ``settings_cls.worker_class`` when it is set."""
    options = _settings_dict(settings_cls)
    worker_class = options.get("worker_class")
    if worker_class is None:
        return _arq_create_worker(settings_cls, **kwargs)
    from arq_django.worker.redis_wait import (
        wait_for_redis,  # settings are loaded by now (the module imports conf)
    )

    wait_for_redis(options.get("redis_retries"), queue=options.get("queue_name"))
    accepted = set(inspect.signature(worker_class).parameters) | set(
        inspect.signature(arq.worker.Worker).parameters
    )
    worker: arq.worker.Worker = worker_class(**{k: v for k, v in options.items() if k in accepted}, **kwargs)
    return worker


_arq_create_worker = arq.worker.create_worker


def install() -> None:
    """Route arq's CLI (run, ``--watch``) through :func:`create_worker`; idempotent."""
    arq.worker.create_worker = create_worker
    arq.cli.create_worker = create_worker  # type: ignore[attr-defined]
