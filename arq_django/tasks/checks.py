"""System check for the Tasks backend: each :class:`ArqBackend` reports its own misconfiguration
(``arq_django.E101``); a ``TASKS`` entry that cannot even be built is ``arq_django.E100``."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

from arq_django.tasks.setup import BACKEND_PREFIX


@register("arq_django")
def check_task_backends(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Build every ``TASKS`` backend of ours and collect its ``check()``."""
    from arq_django.tasks.compat import task_backends

    messages: list[CheckMessage] = []
    for alias, conf in (getattr(settings, "TASKS", None) or {}).items():
        if not str(conf.get("BACKEND", "")).startswith(BACKEND_PREFIX):
            continue
        try:
            backend = task_backends[alias]
        except Exception as e:
            messages.append(Error(f"TASKS[{alias!r}] cannot be loaded: {e}", id="arq_django.E100"))
            continue
        messages.extend(backend.check())
    return messages
