"""HTTP endpoints mounted by ``path("arq/", include("arq_django.urls"))``: health, JSON API, metrics."""
