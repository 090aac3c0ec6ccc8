"""Tests: the suite's conftest points ARQ_DJANGO at its own Redis database; the DB is a file so that
worker subprocesses see what the tests write."""

import json

from settings.base import *  # noqa: F403
from settings.base import BASE_DIR, arq_django_settings, env, mail_settings

DEBUG = False
INSTALLED_APPS = [*INSTALLED_APPS, "tests.jobs_app", "tests.model_tasks_app"]  # noqa: F405
SECRET_KEY = "test-only-secret-key"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
globals().update(mail_settings("django.core.mail.backends.locmem.EmailBackend"))

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / '.run' / 'test-db.sqlite3'}")}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / ".run" / "test-db.sqlite3")}

REDIS_URL = env("REDIS_URL", default="redis://localhost:6379/0")
ARQ_DJANGO = arq_django_settings(REDIS_URL)
# Every queue the test suite routes jobs to (tests/jobs_app/jobs.py) or names with _queue_name.
ARQ_DJANGO["QUEUES"] = [
    "mail",
    "reports",
    "cron-test",
    "startup-q",
    "other",
    "manage-q",
    "env-q",
    "rows",
    "exports",
]
# The result-mirror tests stretch a worker's flush interval to kill it with rows unwritten.
ARQ_DJANGO["MIRROR_FLUSH_INTERVAL"] = env.float("ARQ_MIRROR_FLUSH_INTERVAL", default=0.25)
# Tests with servers of their own (tests/redis_servers.py) hand their worker processes more settings.
ARQ_DJANGO.update(json.loads(env("ARQ_DJANGO_EXTRA", default="{}")))
# Django's Tasks framework on arq_django (tests/tasks/): "default" is ARQ_DJANGO['QUEUE'], "mail" its queue.
TASKS = {"default": {"BACKEND": "arq_django.tasks.ArqBackend", "QUEUES": ["default", "mail"]}}
