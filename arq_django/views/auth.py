"""Who may call the API and metrics: a staff session (CSRF-checked on POST) or a bearer token.

A session's user needs staff status and, as in the admin, the result mirror's model permissions:
:data:`READ` (``arq_django.view_jobresult``) to read jobs, stats, workers and metrics, and :data:`WRITE`
(``arq_django.change_jobresult``, the permission the admin's retry and abort actions need) to enqueue
and abort. Superusers hold every permission. A bearer token grants everything the API offers.

Tokens are compared in constant time against every configured token. A request that sends an
``Authorization`` header is judged by it alone; a wrong token is refused even with a staff session.
"""

from __future__ import annotations

import functools
import hmac
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from arq_django.conf import Config, get_config

View = Callable[..., HttpResponse]
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
READ = "arq_django.view_jobresult"
WRITE = "arq_django.change_jobresult"


def error(status: int, message: str, **headers: str) -> JsonResponse:
    response = JsonResponse({"error": message}, status=status)
    for name, value in headers.items():
        response[name] = value
    return response


def token_matches(given: str, tokens: tuple[str, ...]) -> bool:
    """Whether ``given`` is one of ``tokens``; every token is compared, each in constant time."""
    given_b = given.encode()
    matched = False
    for token in tokens:
        matched |= hmac.compare_digest(given_b, token.encode())
    return matched


def _csrf_failure(request: HttpRequest) -> str | None:
    """The reason Django's CSRF check rejects ``request``, or ``None``."""
    check = CsrfViewMiddleware(lambda r: HttpResponse())
    check.process_request(request)
    response = check.process_view(request, lambda r: HttpResponse(), (), {})
    return None if response is None else "CSRF check failed: send the csrftoken cookie and X-CSRFToken header"


def authorize(request: HttpRequest, tokens: tuple[str, ...], permission: str) -> JsonResponse | None:
    """``None`` when the caller may go on, else the 401/403 response to send; a session's user needs
    staff status and ``permission``."""
    challenge = {"WWW-Authenticate": 'Bearer realm="arq_django"'}
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip() or not token_matches(token.strip(), tokens):
            return error(401, "invalid bearer token", **challenge)
        return None
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return error(401, "authentication required: a staff session or a bearer token", **challenge)
    if not (user.is_active and user.is_staff):
        return error(403, "staff status required")
    if not user.has_perm(permission):
        return error(403, f"permission {permission!r} required (grant it to the user or a group)")
    if request.method not in SAFE_METHODS:
        reason = _csrf_failure(request)
        if reason is not None:
            return error(403, reason)
    return None


def protected(
    methods: tuple[str, ...], tokens: Callable[[Config], tuple[str, ...]], write: tuple[str, ...] = ()
) -> Callable[[View], View]:
    """Allow ``methods`` (405 otherwise), then :func:`authorize` with the tokens ``tokens(config)``;
    the methods in ``write`` need :data:`WRITE`, the others :data:`READ`."""

    def decorator(view: View) -> View:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in methods:
                return error(405, f"method {request.method} not allowed", Allow=", ".join(methods))
            permission = WRITE if request.method in write else READ
            denied = authorize(request, tokens(get_config()), permission)
            return denied if denied is not None else view(request, *args, **kwargs)

        # Tokens need no CSRF check; sessions get it inside authorize().
        return csrf_exempt(never_cache(wrapped))

    return decorator


def api_tokens(config: Config) -> tuple[str, ...]:
    return config.api_tokens


def metrics_tokens(config: Config) -> tuple[str, ...]:
    return config.api_tokens if config.metrics_tokens is None else config.metrics_tokens
