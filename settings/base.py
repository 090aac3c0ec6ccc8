"""Settings shared by every environment; every environment value is read once, here or below."""

from pathlib import Path

import django
import environ

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", False)
SECRET_KEY = env("SECRET_KEY", default="insecure-dev-key-change-me")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "arq_django",
    "demo",
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

ROOT_URLCONF = "settings.urls"
WSGI_APPLICATION = "settings.wsgi.application"
ASGI_APPLICATION = "settings.asgi.application"

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

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("DJANGO_TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="demo@example.com")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "arq_django": {"handlers": ["console"], "level": env("ARQ_DJANGO_LOG_LEVEL", default="INFO")}
    },
}


def mail_settings(backend: str) -> dict[str, object]:
    """Django 6.1 replaces EMAIL_BACKEND with MAILERS; set whichever this Django reads."""
    if django.VERSION >= (6, 1):
        return {"MAILERS": {"default": {"BACKEND": backend}}}
    return {"EMAIL_BACKEND": backend}


def arq_django_settings(redis_url: str) -> dict[str, object]:
    """The library's settings, filled from the environment."""
    return {
        "REDIS_URL": redis_url,
        "QUEUE": env("ARQ_DEFAULT_QUEUE", default="arq:queue"),
        "SERIALIZER": env("ARQ_SERIALIZER", default="json"),
        "MAX_JOBS": env.int("ARQ_MAX_JOBS", default=10),
        "JOB_TIMEOUT": env.float("ARQ_JOB_TIMEOUT", default=300),
        "JOB_COMPLETION_WAIT": env.float("ARQ_JOB_COMPLETION_WAIT", default=10),
        "LIST_SOURCES": env.list("ARQ_LIST_SOURCES", default=[]),
        "LIST_LEASE": env.float("ARQ_LIST_LEASE", default=30),
        "HEARTBEAT_INTERVAL": env.float("ARQ_HEARTBEAT_INTERVAL", default=5),
        "POLL_DELAY": env.float("ARQ_POLL_DELAY", default=0.5),
        "SYNC_OVERRUN_LIMIT": env.int("ARQ_SYNC_OVERRUN_LIMIT", default=None),
        "ENQUEUE_WAIT_REPLICAS": env.int("ARQ_ENQUEUE_WAIT_REPLICAS", default=0),
    }
