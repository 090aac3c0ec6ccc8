"""Time ``GET arq/api/jobs/`` with many finished jobs on record (the history index, ``ops/history.py``).

Run from the repository root: ``.venv/bin/python -m bench.history [--results 20000] [--db 14]``. The
results are written by the worker's own finish call (:class:`arq_django.worker.finish.Finisher`), so they
land in the history index as a worker's would. The bench's Redis database is FLUSHDB-ed before and
after; other databases are never touched.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections.abc import Sequence

import redis
from arq.connections import RedisSettings, create_pool
from arq.jobs import serialize_result
from arq.utils import timestamp_ms

from bench.run import DEFAULT_URL, setup_django, with_db

QUEUE = "arq:queue"
TOKEN = "bench-" + "t" * 40
QUERIES = ("?limit=50", "?limit=50&status=failed", "?limit=500")


async def _store(url: str, n: int) -> None:
    from arq_django.serializers import get_serializer
    from arq_django.worker.finish import Finish, Finisher

    pool = await create_pool(RedisSettings.from_dsn(url))
    dumps = get_serializer().dumps
    now = timestamp_ms()
    try:
        finisher = Finisher(pool, QUEUE)
        for start in range(0, n, 1000):
            writes = []
            for i in range(start, min(start + 1000, n)):
                job_id, ok = f"bench-{i}", i % 10 != 0
                raw = serialize_result(
                    "add", (i, 2), {"k": "v" * 20}, 1, now - 5000, ok, i + 2 if ok else "boom",
                    now - 2000, now - 1000, f"{job_id}:add", QUEUE, job_id, serializer=dumps,
                )  # fmt: skip
                writes.append(finisher.submit(Finish(job_id, True, raw, 3_600_000, None, None)))
            await asyncio.gather(*writes)
    finally:
        await pool.aclose(close_connection_pool=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("REDIS_URL") or DEFAULT_URL)
    parser.add_argument("--db", type=int, default=14, help="the bench's Redis database (FLUSHDB-ed)")
    parser.add_argument("--results", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    url = with_db(args.url, args.db)
    setup_django(url)
    from django.conf import settings
    from django.test import Client
    from django.test.utils import override_settings

    client = redis.Redis.from_url(url)
    client.flushdb()
    try:
        asyncio.run(_store(url, args.results))
        arq = {**settings.ARQ_DJANGO, "API_TOKENS": [TOKEN], "QUEUES": [QUEUE]}
        with override_settings(ALLOWED_HOSTS=["testserver"], ARQ_DJANGO=arq):
            api = Client()
            for query in QUERIES:
                times = []
                for _ in range(args.repeat):
                    started = time.perf_counter()
                    response = api.get("/arq/api/jobs/" + query, HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
                    times.append(time.perf_counter() - started)
                    assert response.status_code == 200, response.content[:200]
                listed = len(response.json()["jobs"])
                median, best = statistics.median(times) * 1000, min(times) * 1000
                print(
                    f"GET arq/api/jobs/{query} with {args.results} results: median {median:.1f} ms, "
                    f"best {best:.1f} ms ({listed} listed)"
                )
    finally:
        client.flushdb()
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
