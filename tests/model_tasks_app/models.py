"""Concrete task models the model-task tests run on real workers (queue ``rows``)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import redis
from django.db import models

from arq_django.conf import get_config
from arq_django.models import TaskModel

RELEASE_KEY = "tests:model_tasks:release"


class Flaky(Exception):
    pass


def _released() -> bool:
    client = redis.Redis.from_url(get_config().redis_url)
    try:
        return bool(client.exists(RELEASE_KEY))
    finally:
        client.close()


class Export(TaskModel):
    """``mode``: ok (the default), fail, flaky (fails until try ``fail_tries + 1``), block (till released)."""

    name = models.CharField(max_length=64)
    mode = models.CharField(max_length=16, default="ok")
    fail_tries = models.PositiveIntegerField(default=0)
    rows_written = models.IntegerField(null=True, blank=True)

    class TaskMeta:
        queue = "rows"
        max_tries = 3
        retry_on = (Flaky,)
        retry_backoff = 0

    def __str__(self) -> str:
        return f"Export {self.name}"

    def do_task(self) -> Any:
        assert self.ctx is not None
        if self.mode == "fail":
            raise ValueError(f"cannot export {self.name}")
        if self.mode == "flaky" and self.ctx["job_try"] <= self.fail_tries:
            raise Flaky(f"try {self.ctx['job_try']}")
        if self.mode == "block":
            deadline = time.monotonic() + 60
            while not _released() and time.monotonic() < deadline:
                time.sleep(0.05)
        self.ctx["progress"](0.5, "half")
        self.rows_written = len(self.name)
        return {"name": self.name, "try": self.ctx["job_try"]}


class AsyncExport(TaskModel):
    name = models.CharField(max_length=64)
    mode = models.CharField(max_length=16, default="ok")
    rows_written = models.IntegerField(null=True, blank=True)

    class TaskMeta:
        queue = "rows"
        timeout = 3

    async def ado_task(self) -> Any:
        assert self.ctx is not None
        if self.mode == "fail":
            raise RuntimeError("async boom")
        if self.mode == "hang":
            await asyncio.Event().wait()
        await self.ctx["progress"](0.5, "half")
        await asyncio.sleep(0)
        self.rows_written = 2 * len(self.name)
        return f"async {self.name}"


class OneShot(TaskModel):
    """One try, a 1 s timeout: a killed worker leaves it ``in_progress`` for recovery to find."""

    mode = models.CharField(max_length=16, default="block")

    class TaskMeta:
        queue = "rows"
        timeout = 1
        max_tries = 1

    def do_task(self) -> Any:
        deadline = time.monotonic() + 60
        while self.mode == "block" and not _released() and time.monotonic() < deadline:
            time.sleep(0.05)
        return "done"
