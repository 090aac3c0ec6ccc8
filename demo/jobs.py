"""The example project's jobs: the two from the old "JSON in a Redis list" setup, now arq jobs."""

from __future__ import annotations

import gzip
import os
import shutil
from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.core.mail import send_mail

from arq_django import job


@job
async def send_welcome(ctx: dict[str, Any], user_id: int) -> str:
    """Async handler using Django's async ORM API (``aget``), the pattern for async jobs."""
    user = await get_user_model().objects.aget(pk=user_id)
    await sync_to_async(send_mail)("Welcome", f"Hello {user.get_username()}!", None, [user.email])
    return user.get_username()


@job("email", queue="arq:queue", timeout=30, max_tries=3, keep_result=3600)
async def email(ctx: dict[str, Any], to: str, subject: str, body: str) -> dict[str, Any]:
    """Send one message through Django's email backend (console or locmem in development)."""
    sent = await sync_to_async(send_mail)(subject, body, None, [to])
    return {"to": to, "subject": subject, "sent": sent, "try": ctx["job_try"]}


@job("file_process")
def file_process(ctx: dict[str, Any], path: str) -> int:
    """Sync handler (runs in a worker thread): gzip ``path`` to ``path.gz``, return the compressed size."""
    target = f"{path}.gz"
    with open(path, "rb") as src, gzip.open(target, "wb") as dst:
        shutil.copyfileobj(src, dst)
    return os.path.getsize(target)
