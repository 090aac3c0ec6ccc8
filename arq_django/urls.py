"""``path("arq/", include("arq_django.urls"))``: health, liveness, metrics and the JSON API."""

from __future__ import annotations

from django.urls import path, re_path

from arq_django.views import api, health, metrics

app_name = "arq_django"

urlpatterns = [
    path("health/", health.health, name="health"),
    re_path(r"^health/live/?$", health.live, name="health-live"),
    re_path(r"^metrics/?$", metrics.metrics, name="metrics"),
    path("api/jobs/", api.job_list, name="api-jobs"),
    path("api/jobs/<str:job_id>/", api.job_detail, name="api-job"),
    path("api/jobs/<str:job_id>/abort/", api.job_abort, name="api-job-abort"),
    path("api/stats/", api.stats, name="api-stats"),
    path("api/workers/", api.workers, name="api-workers"),
]
