"""The dashboard's views, served through the admin (:mod:`.admin`): the page, its refreshable body,
its JSON, and the Retry / Abort buttons. Permissions are the ``JobResult`` admin's own: looking needs
its view permission, acting the change permission its retry and abort actions require."""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

import redis
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_POST

from arq_django.dashboard.charts import duration_bar, seconds_text, throughput_chart
from arq_django.dashboard.snapshot import Dashboard, read_dashboard
from arq_django.exceptions import ArqDjangoError
from arq_django.models import JobResult
from arq_django.ops.actions import RETRYABLE, abort_rows, retry_row
from arq_django.ops.encoding import OpsJSONEncoder

if TYPE_CHECKING:
    from django.contrib.admin import ModelAdmin

    JobsAdmin = ModelAdmin[JobResult]
else:
    JobsAdmin = Any

REFRESH_S = 5
DASHBOARD_URL = "admin:arq_django_jobsdashboard_changelist"


def _fetched(request: HttpRequest) -> bool:
    """Asked by the page's script (which then wants JSON or the bare body back)."""
    return request.headers.get("X-Requested-With") == "arq-dashboard"


def dashboard(request: HttpRequest, jobs: JobsAdmin) -> HttpResponse:
    """The page (``?partial=1``: its body only, for the refresh; ``?format=json``: its figures)."""
    if not jobs.has_view_permission(request):
        raise PermissionDenied
    snap = read_dashboard()
    if request.GET.get("format") == "json":
        return HttpResponse(
            json.dumps(snap.as_dict(), cls=OpsJSONEncoder, sort_keys=True), content_type="application/json"
        )
    context = {
        **jobs.admin_site.each_context(request),
        "title": "Jobs dashboard",
        "opts": jobs.model._meta,
        "snap": snap,
        "can_act": jobs.has_change_permission(request),
        "retryable": [s.value for s in RETRYABLE],
        "refresh_s": REFRESH_S,
        **_charts(snap),
    }
    partial = request.GET.get("partial") == "1"
    template = "arq_django/dashboard/_body.html" if partial else "arq_django/dashboard/page.html"
    return TemplateResponse(request, template, context)


def _charts(snap: Dashboard) -> dict[str, Any]:
    finite = [d.p95 for d in snap.durations if math.isfinite(d.p95)]
    longest = max(finite, default=0.0)
    return {
        "hour_chart": throughput_chart(snap.hour, "Job ends per minute, last hour"),
        "day_chart": throughput_chart(snap.day, "Job ends per hour, last 24 hours"),
        "durations": [
            (d, seconds_text(d.p50), seconds_text(d.p95), duration_bar(d, longest)) for d in snap.durations
        ],
    }


@require_POST
def act(request: HttpRequest, jobs: JobsAdmin, pk: int, action: str) -> HttpResponse:
    """Retry or abort one row, as the changelist's actions would; answers JSON to the page's script
    and redirects back otherwise."""
    if not jobs.has_change_permission(request):
        raise PermissionDenied
    row = get_object_or_404(JobResult, pk=pk)
    try:
        if action == "retry":
            handle = retry_row(row)
            text, ok = f"Re-enqueued job {row.job_id} as {handle.job_id}.", True
        else:
            asked = abort_rows([row])
            ok = bool(asked)
            text = (
                f"Abort requested for job {row.job_id}."
                if asked
                else f"Job {row.job_id} is {row.status}: no longer queued or running, nothing to abort."
            )
    except (ArqDjangoError, redis.RedisError) as e:
        text, ok = str(e), False
    if _fetched(request):
        return JsonResponse({"ok": ok, "message": text}, status=200 if ok else 409)
    messages.add_message(request, messages.SUCCESS if ok else messages.ERROR, text)
    return redirect(reverse(DASHBOARD_URL, current_app=jobs.admin_site.name))
