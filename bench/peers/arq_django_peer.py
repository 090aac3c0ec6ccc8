"""arq_django at its defaults in a small project (``bench.peers.project``): ``enqueue()`` (``Producer``)
or ``aenqueue()`` (``AsyncProducer``); ``manage.py arq_worker`` with ``MAX_JOBS`` 10 (asyncio)."""

from __future__ import annotations

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.peers.project.settings")
django.setup()  # before the clock starts, as a management command or a web process has done

from arq_django import aenqueue, enqueue  # noqa: E402 - after setup
from arq_django.connection import aclose_pools  # noqa: E402

JOB = "bench_peer_job"


class Producer:
    def enqueue(self, i: int) -> None:
        enqueue(JOB, i)

    def close(self) -> None:
        pass


class AsyncProducer:
    async def start(self) -> None:
        pass

    async def enqueue(self, i: int) -> None:
        await aenqueue(JOB, i)

    async def close(self) -> None:
        await aclose_pools()
