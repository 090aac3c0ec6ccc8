"""Enqueue from a view: the call returns at once with the job id."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_POST

from arq_django import EnqueueError, enqueue


@require_POST
def send_email(request: HttpRequest) -> JsonResponse:
    to = request.POST.get("to", "")
    if "@" not in to:
        return JsonResponse({"error": "give a 'to' address"}, status=400)
    try:
        handle = enqueue("email", to=to, subject=request.POST.get("subject", "Hello"), body="Sent by a job.")
    except EnqueueError:
        return JsonResponse({"error": "the job queue is unavailable, try again"}, status=503)
    assert handle is not None  # a generated id cannot collide
    return JsonResponse({"job_id": handle.job_id}, status=202)
