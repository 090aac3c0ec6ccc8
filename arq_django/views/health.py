"""``arq/health/`` for load balancers and readiness probes, ``arq/health/live`` for liveness probes.

Both views are async: under ASGI a probe waiting on a hung dependency never holds the one thread
Django runs sync views in; the checks themselves run in their own threads (:mod:`arq_django.health`).
"""

from __future__ import annotations

import asyncio

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from arq_django.health import health_report
from arq_django.jobs.routing import is_known


@never_cache
@require_http_methods(["GET", "HEAD"])
async def health(request: HttpRequest) -> JsonResponse:
    """200 when every configured check passes within ``HEALTH_TIMEOUT``, else 503; no secrets shown.
    ``?queue=mail`` checks that queue only (on its own Redis server when it has one)."""
    queue = request.GET.get("queue") or None
    if queue is not None and not is_known(queue):
        return JsonResponse({"status": "fail", "error": f"unknown queue {queue!r}"}, status=404)
    report = await asyncio.to_thread(health_report, queue)
    return JsonResponse(report.as_dict(), status=200 if report.ok else 503)


@never_cache
@require_http_methods(["GET", "HEAD"])
async def live(request: HttpRequest) -> JsonResponse:
    """200 while the process answers; checks nothing else."""
    return JsonResponse({"status": "ok"})
