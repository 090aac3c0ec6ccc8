"""A new project's settings with arq_django at its defaults (the result mirror on, its row written at
enqueue); ``BENCH_MIRROR=off`` turns the mirror off. ``BENCH_DATABASE_URL``: SQLite or PostgreSQL."""

from __future__ import annotations

import os

import environ

SECRET_KEY = "bench-only"
USE_TZ = True
INSTALLED_APPS = ["arq_django", "bench.peers.project"]
DATABASES = {"default": environ.Env.db_url_config(os.environ["BENCH_DATABASE_URL"])}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
ARQ_DJANGO: dict[str, object] = {"REDIS_URL": os.environ["BENCH_REDIS_URL"]}
if os.environ.get("BENCH_MIRROR") == "off":
    ARQ_DJANGO["MIRROR"] = False
