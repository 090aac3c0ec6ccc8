"""Issue 14, items 2 and 3: a value the database cannot hold never blocks other rows, and never breaks
the row it is in (SQLite and PostgreSQL: this file is in ``make test-postgres``)."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from arq.constants import result_key_prefix
from arq.jobs import serialize_result
from asgiref.sync import async_to_sync
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.urls import reverse

from arq_django import enqueue, flush_rows
from arq_django.connection import sync_client
from arq_django.mirror import listener
from arq_django.mirror.clean import fit_id
from arq_django.mirror.reconcile import reconcile
from arq_django.mirror.rows import RowUpdate
from arq_django.mirror.writer import upsert
from arq_django.models import JobResult
from arq_django.serializers import get_serializer
from arq_django.worker.events import JobEnd, Outcome

pytestmark = pytest.mark.django_db(transaction=True)
Status = JobResult.Status
T0 = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
LONG_ID = "x" * 300


def done(job_id: str, **extra: object) -> RowUpdate:
    values: dict[str, object] = {
        "status": Status.COMPLETE,
        "tries": 1,
        "function": "add",
        "queue_name": "arq:queue",
        "args": (1, 2),
        "result": 3,
        "finished_at": T0,
        **extra,
    }
    return RowUpdate(job_id, **values)  # type: ignore[arg-type]


BAD = {
    "long id": done(LONG_ID),
    "nul in args": done("nul-args", args=("a\x00b",)),
    "nul in result": done("nul-result", result={"k\x00": "v\x00"}),
    "surrogate in error": done("surrogate", status=Status.FAILED, result=None, error="ValueError: \ud800!"),
    "nul in id": done("nul\x00id"),
    "tries out of range": done("big-tries", tries=2**40, status=Status.RETRYING),
}


def test_bad_values_neither_block_the_batch_nor_break_their_row():
    good = [done(f"good-{i}") for i in range(10)]
    assert upsert([*good, *BAD.values(), done("nul")]) == 17
    assert JobResult.objects.filter(job_id__startswith="good-", status=Status.COMPLETE).count() == 10
    assert JobResult.objects.get(job_id="nul-args").args == ["a\\x00b"]
    assert JobResult.objects.get(job_id="nul-result").result == {"k\\x00": "v\\x00"}
    assert JobResult.objects.get(job_id="surrogate").error == "ValueError: \\ud800!"
    # A NUL does not cut the id short: "nul\x00id" and "nul" stay two rows.
    assert JobResult.objects.get(job_id="nul\\x00id").status == Status.COMPLETE
    assert JobResult.objects.get(job_id="nul").status == Status.COMPLETE
    long_row = JobResult.objects.get(job_id=fit_id(LONG_ID))
    assert len(long_row.job_id) <= 255 and long_row.job_id.startswith("x" * 200)
    assert JobResult.objects.get(job_id="big-tries").tries in (2**40, 2**31 - 1)  # SQLite holds it
    assert JobResult.objects.count() == 17


def test_a_refused_row_is_set_aside_with_a_note_and_logged(caplog):
    # tries < 0 breaks the CHECK constraint of a PositiveIntegerField on both databases.
    rows = [done(f"ok-{i}") for i in range(7)] + [done("refused", tries=-1, error="boom")]
    with caplog.at_level(logging.ERROR, logger="arq_django.mirror"):
        assert upsert(rows) == 8
    assert JobResult.objects.filter(job_id__startswith="ok-", status=Status.COMPLETE).count() == 7
    aside = JobResult.objects.get(job_id="refused")
    assert aside.tries == 0 and aside.status == Status.COMPLETE and aside.result == 3
    assert aside.error.startswith("boom\n[result mirror: the database refused this row (IntegrityError")
    assert "tries replaced" in aside.error
    assert "'refused'" in caplog.text and "refused the row" in caplog.text


def test_reconcile_is_not_stopped_by_ids_or_results_the_database_cannot_hold(redis_url, redis_client):
    dumps = get_serializer().dumps

    def result(job_id: str, value: object) -> bytes:
        raw = serialize_result(
            "add", (1,), {}, 1, 1, True, value, 2, 3, "ref", "arq:queue", job_id, serializer=dumps
        )
        assert raw is not None
        return raw

    records = {
        b"good-1": result("good-1", 1),
        b"\xff\xfeid": result("?", 1),
        LONG_ID.encode(): result(LONG_ID, 1),
        b"nul\x00id": result("nul\x00id", 1),
        b"nul-result": result("nul-result", "a\x00b"),
        b"good-2": result("good-2", 2),
    }
    for job_id, raw in records.items():
        redis_client.set(result_key_prefix.encode() + job_id, raw)
    assert reconcile(sync_client()) == 6
    assert set(JobResult.objects.values_list("job_id", flat=True)) == {
        "good-1",
        "good-2",
        "\\xff\\xfeid",
        fit_id(LONG_ID),
        "nul\\x00id",
        "nul-result",
    }
    assert JobResult.objects.get(job_id="nul-result").result == "a\\x00b"
    assert reconcile(sync_client()) == 0  # the rows are found under the ids they were stored as


def test_the_admin_lists_and_deletes_a_row_whose_error_had_a_lone_surrogate():
    upsert([BAD["surrogate in error"], done("other")])
    User.objects.create_superuser("root", "root@example.com", "pw")
    client = Client()
    client.force_login(User.objects.get(username="root"))
    page = client.get(reverse("admin:arq_django_jobresult_changelist"))
    assert page.status_code == 200 and "surrogate" in page.content.decode()
    JobResult.objects.filter(job_id="surrogate").delete()
    assert list(JobResult.objects.values_list("job_id", flat=True)) == ["other"]
    assert connection.vendor in ("sqlite", "postgresql")


def test_the_listener_writes_the_jobs_after_a_bad_one(redis_url):
    """The end-to-end case of the issue: one bad job, and the ten after it stayed queued forever."""
    now = dt.datetime.now(dt.UTC)

    def ended(job_id: str, error: str = "") -> JobEnd:
        outcome = Outcome.FAILED if error else Outcome.COMPLETE
        return JobEnd(
            job_id, "add", "arq:queue", ("\x00",), {}, 1, 5, now, now, now, "w:1", outcome, 1, error
        )

    async def run() -> listener.Mirror:
        mirror = listener.Mirror(flush_interval=0.02, reconcile_interval=0)
        mirror.start()
        mirror.job_ended(ended(LONG_ID, error="E: \ud800"))
        for i in range(10):
            mirror.job_ended(ended(f"later-{i}"))
        await mirror.flush()
        await mirror.stop()
        return mirror

    mirror = async_to_sync(run)()
    assert mirror.failed_flushes == 0
    assert JobResult.objects.filter(job_id__startswith="later-", status=Status.COMPLETE).count() == 10
    assert JobResult.objects.get(job_id=fit_id(LONG_ID)).error == "E: \\ud800"


def test_enqueue_writes_the_queued_row_of_a_job_with_a_nul_in_its_arguments(redis_url):
    handle = enqueue("echo", "a\x00b", key="\x00")
    assert flush_rows(10)  # outside a transaction the row is buffered
    row = JobResult.objects.get(job_id=handle.job_id)
    assert row.status == Status.QUEUED and row.args == ["a\\x00b"] and row.kwargs == {"key": "\\x00"}
