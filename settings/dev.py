"""Development: DEBUG, console email, and a Redis that is always there (embedded when none runs)."""

from arq_django.embedded import dev_redis_url
from settings.base import *  # noqa: F403
from settings.base import BASE_DIR, arq_django_settings, env, mail_settings

DEBUG = env.bool("DJANGO_DEBUG", True)
globals().update(
    mail_settings(env("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend"))
)

# REDIS_URL wins; else localhost:6379 if it answers; else an embedded redis-server shared by the dev
# server and the worker through .run/redis.sock. ARQ_EMBEDDED_REDIS=1 forces the embedded one.
REDIS_URL = env("REDIS_URL", default="") or dev_redis_url(
    BASE_DIR / ".run", force_embedded=env.bool("ARQ_EMBEDDED_REDIS", False)
)
ARQ_DJANGO = arq_django_settings(REDIS_URL)
