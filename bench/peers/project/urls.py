"""The quick start's URLs: the admin and arq_django's."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("arq/", include("arq_django.urls")),
]
