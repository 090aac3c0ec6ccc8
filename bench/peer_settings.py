"""Settings for ``bench.tasks_peers``: one Django Tasks backend per run, chosen by ``BENCH_PEER``
(``arq``: arq_django's ArqBackend with the result mirror; ``tasks-db``: django-tasks-db's
DatabaseBackend; ``vtasks``: django-vtasks' Valkey backend on the same Redis), so a peer's bench venv
needs only that peer installed."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import django

PEER = os.environ.get("BENCH_PEER", "arq")
RUN = Path(__file__).resolve().parent.parent / ".run"
SECRET_KEY = "bench-only"
USE_TZ = True
INSTALLED_APPS = ["bench.peer_app"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(RUN / f"peer-{PEER}.sqlite3")}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}

if PEER == "arq":
    INSTALLED_APPS += ["arq_django"]
    ARQ_DJANGO = {
        "REDIS_URL": os.environ["BENCH_REDIS_URL"],
        "JOB_MODULES": [],
        "LOG_JOBS": False,
        # BENCH_MIRROR: "enqueue" writes the row at enqueue (as tasks-db does), "worker" leaves it to the
        # worker, "off" keeps results in Redis only (as vtasks' Valkey backend does)
        "MIRROR": os.environ.get("BENCH_MIRROR", "enqueue") != "off",
        "MIRROR_ON_ENQUEUE": os.environ.get("BENCH_MIRROR", "enqueue") == "enqueue",
    }
    TASKS: dict[str, dict[str, Any]] = {"default": {"BACKEND": "arq_django.tasks.ArqBackend"}}
elif PEER == "tasks-db":
    if django.VERSION < (6,):
        INSTALLED_APPS += ["django_tasks"]
    INSTALLED_APPS += ["django_tasks_db"]
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
elif PEER == "vtasks":
    INSTALLED_APPS += ["django_vtasks"]
    TASKS = {
        "default": {
            "BACKEND": "django_vtasks.backends.valkey.ValkeyTaskBackend",
            "OPTIONS": {"BROKER_URL": os.environ["BENCH_REDIS_URL"]},
        }
    }
else:
    raise RuntimeError(f"BENCH_PEER={PEER!r}: use arq, tasks-db or vtasks")
