"""Marking a task row started: one ``UPDATE … RETURNING`` on PostgreSQL and on a SQLite file's writer
thread, a raw ``UPDATE`` then ``SELECT`` on SQLite inside a transaction, the ORM's two statements
elsewhere, and the same row every way."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection, models, transaction
from django.utils import timezone

from arq_django.model_tasks import mark
from tests.model_tasks_app.models import Export

pytestmark = pytest.mark.django_db(transaction=True)

FIELDS = ("pk", "name", "mode", "status", "result", "error", "tries", "job_id", "enqueued_at", "rows_written")


def _plain_row() -> Export:
    """A row with a JSON result and a timestamp to convert back, saved without enqueueing its job."""
    return models.QuerySet(Export).bulk_create(
        [Export(name="q1", result={"rows": [1, 2], "ok": True}, job_id="job-1", enqueued_at=timezone.now())]
    )[0]


@pytest.fixture(params=["returning", "update then select", "orm"])
def path(request, monkeypatch):
    mark._statements.cache_clear()
    request.addfinalizer(mark._statements.cache_clear)
    if request.param == "orm":
        monkeypatch.setattr(mark, "RAW_VENDORS", ())
    elif request.param == "update then select":
        monkeypatch.setattr(mark, "_returns_rows", lambda connection: False)
    elif not mark._returns_rows(connection):
        pytest.skip(f"{connection.vendor} marks without RETURNING")
    return request.param


def test_the_row_comes_back_marked_and_converted_as_the_orm_loads_it(path):
    row = _plain_row()
    now = timezone.now()
    marked = mark.mark_started(Export, row.pk, "job-1", 2, now)
    assert marked is not None
    fresh = Export.objects.get(pk=row.pk)
    assert (fresh.status, fresh.started_at, fresh.tries) == ("in_progress", now, 2)
    for name in FIELDS:
        assert getattr(marked, name) == getattr(fresh, name), name
    assert marked.started_at == now and marked.started_at.tzinfo is not None
    assert marked.result == {"rows": [1, 2], "ok": True}
    assert isinstance(marked.enqueued_at, dt.datetime)
    assert marked._state.adding is False and marked._state.db == "default"


def test_a_row_of_another_job_or_gone_is_left_alone(path):
    row = _plain_row()
    assert mark.mark_started(Export, row.pk, "job-2", 1, timezone.now()) is None
    assert Export.objects.get(pk=row.pk).status == "queued"
    assert mark.mark_started(Export, row.pk + 1000, "job-1", 1, timezone.now()) is None


def _statements_of_a_mark(job_id: str, sql: list[str]) -> list[str]:
    row = _plain_row()
    sql.clear()
    mark.mark_started(Export, row.pk, job_id, 1, timezone.now())
    return list(sql)


def test_postgresql_marks_in_one_statement(row_sql):
    if connection.vendor != "postgresql":
        pytest.skip("UPDATE … RETURNING is PostgreSQL's mark")
    statements = _statements_of_a_mark("job-1", row_sql)
    assert len(statements) == 1 and statements[0].startswith("direct: UPDATE")
    assert "RETURNING" in statements[0]


def test_sqlite_marks_in_one_statement_on_the_writer_thread(row_sql):
    """On a SQLite file the mark is committed in a group by the database's writer thread: UPDATE …
    RETURNING, as the group's transaction holds the write lock anyway."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's mark")
    hit = _statements_of_a_mark("job-1", row_sql)
    assert len(hit) == 1 and hit[0].startswith("grouped: UPDATE") and "RETURNING" in hit[0]


def test_sqlite_inside_a_transaction_updates_then_selects_and_a_miss_selects_nothing(row_sql):
    """Inside ``atomic()`` the mark rides on the caller's transaction, on its own connection: the UPDATE
    alone (no RETURNING holding the write lock across a wait for the GIL), then the SELECT."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's mark")
    with transaction.atomic():
        hit = _statements_of_a_mark("job-1", row_sql)
        miss = _statements_of_a_mark("job-other", row_sql)
    assert [q.split()[:2] for q in hit] == [["direct:", "UPDATE"], ["direct:", "SELECT"]]
    assert "RETURNING" not in hit[0]
    assert [q.split()[:2] for q in miss] == [["direct:", "UPDATE"]]
