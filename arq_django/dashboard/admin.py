"""The dashboard's place in the admin: an entry in the index (the ``JobsDashboard`` proxy) whose
changelist is the dashboard, with its Retry / Abort URLs. Registered by ``arq_django.admin``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path

from arq_django.dashboard import views
from arq_django.models import JobResult, JobsDashboard

if TYPE_CHECKING:
    ModelAdmin = admin.ModelAdmin[JobsDashboard]
else:
    ModelAdmin = admin.ModelAdmin


class JobsDashboardAdmin(ModelAdmin):
    """Asks the ``JobResult`` admin for every permission, so both pages grant the same people."""

    def jobs_admin(self) -> views.JobsAdmin:
        """The site's ``JobResult`` admin, whose permissions (and retry/abort rules) the page uses."""
        registered = self.admin_site._registry.get(JobResult)
        if registered is None:
            raise ImproperlyConfigured(
                f"the jobs dashboard is registered on admin site {self.admin_site.name!r} without "
                "JobResult; register arq_django.admin.JobResultAdmin there too, or unregister JobsDashboard"
            )
        return registered  # type: ignore[return-value]

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.jobs_admin().has_view_permission(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        return views.dashboard(request, self.jobs_admin())

    def act(self, request: HttpRequest, pk: int, action: str) -> HttpResponse:
        return views.act(request, self.jobs_admin(), pk, action)

    def get_urls(self) -> list[URLPattern]:
        wrap, name = self.admin_site.admin_view, "arq_django_jobsdashboard"
        return [
            path("", wrap(self.changelist_view), name=f"{name}_changelist"),
            path("<int:pk>/retry/", wrap(self.act), {"action": "retry"}, name=f"{name}_retry"),
            path("<int:pk>/abort/", wrap(self.act), {"action": "abort"}, name=f"{name}_abort"),
        ]
