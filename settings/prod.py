"""Production: refuses to start without SECRET_KEY and REDIS_URL; no embedded Redis, ever."""

from settings.base import *  # noqa: F403
from settings.base import arq_django_settings, env, mail_settings

DEBUG = False
SECRET_KEY = env("SECRET_KEY")
REDIS_URL = env("REDIS_URL")
ARQ_DJANGO = arq_django_settings(REDIS_URL)

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", True)
CSRF_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", True)
globals().update(
    mail_settings(env("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend"))
)
