"""System checks: misconfiguration shows up in ``manage.py check`` as ``arq_django.E00N``."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register
from django.core.exceptions import ImproperlyConfigured

from arq_django.conf import build_config
from arq_django.exceptions import DuplicateJobName, UnknownQueue
from arq_django.jobs.registry import registry
from arq_django.jobs.routing import route
from arq_django.serializers import get_serializer


@register("arq_django")
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """E001: ``ARQ_DJANGO`` is invalid. E002: the serializer cannot be loaded. E003: job modules fail.
    E004: a job is pinned to a queue missing from ``ARQ_DJANGO['QUEUES']``.
    E005: the result mirror is on but the database cannot run its upsert.
    E006: an ``ARQ_DJANGO['WORKER_EXTENSIONS']`` entry is not a worker extension."""
    try:
        config = build_config(getattr(settings, "ARQ_DJANGO", None))
    except ImproperlyConfigured as e:
        return [Error(str(e), hint="Fix the ARQ_DJANGO setting.", id="arq_django.E001")]
    errors: list[CheckMessage] = []
    try:
        get_serializer()
    except ImproperlyConfigured as e:
        errors.append(Error(str(e), id="arq_django.E002"))
    if config.mirror:
        from django.db import NotSupportedError, connections

        from arq_django.mirror.writer import check_vendor, database_for_writes

        try:
            check_vendor(connections[database_for_writes()])
        except NotSupportedError as e:
            errors.append(
                Error(str(e), hint="Use PostgreSQL or SQLite, or set MIRROR=False.", id="arq_django.E005")
            )
    if config.worker_extensions:
        from arq_django.worker.extensions.configured import problems

        errors += [
            Error(message, hint="Fix or remove that WORKER_EXTENSIONS entry.", id="arq_django.E006")
            for message in problems(config.worker_extensions)
        ]
    try:
        registry.all()
    except ImproperlyConfigured as e:
        errors.append(Error(str(e), hint=_job_module_hint(e), id="arq_django.E003"))
        return errors
    for spec in registry.all():
        try:
            route(spec, None)
        except UnknownQueue as e:
            errors.append(Error(str(e), id="arq_django.E004"))
    return errors


def _job_module_hint(error: ImproperlyConfigured) -> str:
    if isinstance(error, DuplicateJobName):
        return "Rename or remove one of the jobs."
    return "Fix the @job declaration the message names; its job module raised this when imported."
