"""Property suite (issue 14): bad list messages are dead-lettered with a reason or become valid jobs;
none is lost, none crashes the ingester, and the jobs they become reach the mirror without keeping any
other job's row from being written. Runs on SQLite and PostgreSQL (``make test-postgres``).

Its tally (inputs tried, enqueued, dead-lettered, duplicates, lost) goes to
``.run/hardening-counts-<database>.json``.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Iterator

import pytest
import redis
from arq.jobs import deserialize_job
from asgiref.sync import async_to_sync
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arq_django.connection import aclose_pools
from arq_django.ingest import ListIngester, dead_letters
from arq_django.keys import SourceKeys
from arq_django.mirror.clean import fit_id
from arq_django.models import JobResult
from arq_django.serializers import get_serializer
from arq_django.worker.settings import create_worker
from tests.hardening import deep, messages, record

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

KEYS = SourceKeys("hardening")
COUNTS: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def tally() -> Iterator[None]:
    yield
    if COUNTS:
        record("ingest", COUNTS)


async def ingest(n: int) -> tuple[int, int, int]:
    """Ingest ``n`` messages: (taken, enqueued, duplicates). A lost message would leave ``run()``
    waiting for it, hence the deadline."""
    try:
        stats = await asyncio.wait_for(ListIngester(KEYS.source, max_messages=n, block=0.1).run(), 30)
    finally:
        await aclose_pools()
    return stats.taken, stats.enqueued, stats.duplicates


def check_every_message_has_an_outcome(client: redis.Redis, pushed: list[bytes]) -> list[bytes]:
    """Push, ingest, and account for every message; returns the ids of the jobs made."""
    client.delete(KEYS.source, KEYS.dead)
    for key in client.scan_iter(match="arq:job:*"):
        client.delete(key)
    client.lpush(KEYS.source, *pushed)
    taken, enqueued, duplicates = async_to_sync(ingest)(len(pushed))
    jobs = list(client.scan_iter(match="arq:job:*", count=1000))
    letters = dead_letters.dead_letters(KEYS.source, client=client)
    lost = len(pushed) - len(jobs) - len(letters) - duplicates
    COUNTS.update(tried=len(pushed), enqueued=len(jobs), dead_lettered=len(letters), duplicates=duplicates)
    COUNTS["lost"] += lost
    assert lost == 0 and taken == len(pushed) and enqueued == len(jobs)
    assert Counter(letter.message for letter in letters) <= Counter(pushed)
    assert all(letter.reason.strip() for letter in letters)
    # Every job made is one a worker can read; nothing stays claimed.
    loads = get_serializer().loads
    for key in jobs:
        deserialize_job(client.get(key), deserializer=loads)
    assert client.llen(KEYS.source) == 0
    assert list(client.scan_iter(match=f"{KEYS.source}:processing:*")) == []
    return [key[len(b"arq:job:") :] for key in jobs]


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(pushed=st.lists(messages(), min_size=1, max_size=6))
def test_every_message_becomes_a_job_or_a_dead_letter_with_its_reason(redis_client, pushed):
    check_every_message_has_an_outcome(redis_client, pushed)


NASTY_BUT_VALID = [
    json.dumps({"type": "echo", "args": ["a\x00b", "😀"], "data": {"k": "\x00"}}),
    json.dumps({"type": "echo", "args": [2**70, -(2**70), 1e308]}),
    json.dumps({"type": "echo", "args": [float("nan"), float("inf")]}),  # json.loads accepts NaN
    json.dumps({"type": "echo", "args": [{"\x00": [[[[[[[["deep"]]]]]]]]}]}),
    json.dumps({"type": "echo", "args": ["i" * 10_240]}),
    json.dumps({"type": "echo", "options": {"job_id": "j" * 255}}),
    json.dumps({"type": "echo", "options": {"job_id": "ok-id", "defer_by": 0.01}}),
    json.dumps({"type": "add", "args": ["x", 1]}),  # fails in the handler: a TypeError with its message
    json.dumps({"type": "echo", "data": {"s": "\\ud800"}}),
]


def test_the_jobs_of_bad_messages_all_reach_the_mirror(redis_client):
    canaries = [
        json.dumps({"type": "echo", "args": [i], "options": {"job_id": f"canary-{i}"}}) for i in range(10)
    ]
    bad = [raw.encode() for raw in NASTY_BUT_VALID] + [
        deep(10_000),
        b"\xff",
        b'{"type": "echo", "args": "\\ud800"}',
    ]
    pushed = [*bad, *(raw.encode() for raw in canaries)]
    job_ids = check_every_message_has_an_outcome(redis_client, pushed)

    async def run_worker() -> None:
        worker = create_worker(burst=True, handle_signals=False, poll_delay=0.02, max_jobs=20)
        await asyncio.sleep(0.02)  # the deferred job's 10 ms
        await worker.async_run()
        await worker.close()

    async_to_sync(run_worker)()
    rows = {row.job_id: row for row in JobResult.objects.all()}
    blocked = [job_id for job_id in job_ids if fit_id(job_id.decode()) not in rows]
    COUNTS["mirror_rows_blocked"] += len(blocked)
    COUNTS["mirror_rows_written"] += len(job_ids) - len(blocked)
    assert blocked == []
    assert {rows[f"canary-{i}"].result["args"][0] for i in range(10)} == set(range(10))
    assert all(row.status in JobResult.FINISHED for row in rows.values())
    for row in rows.values():  # every row reads back as text UTF-8 can hold
        json.dumps([row.job_id, row.args, row.kwargs, row.result, row.error], ensure_ascii=False).encode()
