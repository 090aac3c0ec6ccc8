"""A new project's settings: what ``django-admin startproject`` writes (its apps, middleware, templates,
SQLite by default), plus the README's quick start (``arq_django`` in ``INSTALLED_APPS``, a
``REDIS_URL``), so arq_django runs at its defaults (the result mirror on, its row written at enqueue).
``BENCH_MIRROR=off`` turns the mirror off. ``BENCH_DATABASE_URL``: SQLite or PostgreSQL."""

from __future__ import annotations

import os

import environ

SECRET_KEY = "bench-only"
DEBUG = False
ALLOWED_HOSTS: list[str] = []
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "arq_django",
    "bench.peers.project",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "bench.peers.project.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]
DATABASES = {"default": environ.Env.db_url_config(os.environ["BENCH_DATABASE_URL"])}
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
ARQ_DJANGO: dict[str, object] = {"REDIS_URL": os.environ["BENCH_REDIS_URL"]}
if os.environ.get("BENCH_MIRROR") == "off":
    ARQ_DJANGO["MIRROR"] = False
