"""The batch upsert: inserts, fills gaps, and never lets a row go backwards (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connections

from arq_django.mirror.rows import RowUpdate
from arq_django.mirror.writer import upsert
from arq_django.models import TERMINAL_RANK, JobResult

pytestmark = pytest.mark.django_db(transaction=True)

T0 = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
Status = JobResult.Status


def start(job_id: str = "j1", tries: int = 1, **extra) -> RowUpdate:
    return RowUpdate(
        job_id=job_id,
        status=Status.IN_PROGRESS,
        tries=tries,
        function="add",
        queue_name="arq:queue",
        args=(1, 2),
        kwargs={"when": dt.date(2020, 1, 2), "price": Decimal("1.5")},
        max_tries=3,
        enqueued_at=T0,
        started_at=T0 + dt.timedelta(seconds=tries),
        worker="host:1",
        **extra,
    )


def end(job_id: str = "j1", status: str = Status.COMPLETE, tries: int = 1, **extra) -> RowUpdate:
    return RowUpdate(
        job_id=job_id,
        status=status,
        tries=tries,
        function="add",
        queue_name="arq:queue",
        finished_at=T0 + dt.timedelta(seconds=tries, milliseconds=500),
        worker="host:2",
        **extra,
    )


def test_insert_then_finish_keeps_what_the_start_knew():
    assert upsert([start()]) == 1
    row = JobResult.objects.get(job_id="j1")
    assert row.status == Status.IN_PROGRESS and row.tries == 1 and row.rank == 5
    assert row.args == [1, 2]
    assert row.kwargs == {
        "when": {"__arq__": "date", "v": "2020-01-02"},
        "price": {"__arq__": "decimal", "v": "1.5"},
    }
    upsert([end(result={"sum": 3})])
    row.refresh_from_db()
    assert row.status == Status.COMPLETE and row.rank == TERMINAL_RANK
    assert row.result == {"sum": 3}
    assert row.args == [1, 2] and row.max_tries == 3 and row.enqueued_at == T0  # kept
    assert row.worker == "host:2" and row.duration == dt.timedelta(milliseconds=500)


def test_a_late_in_progress_cannot_reopen_a_finished_row():
    upsert([end(status=Status.FAILED, error="ValueError: no", traceback="tb")])
    upsert([start(progress=0.5, progress_message="late")])  # e.g. a flush that was retried late
    row = JobResult.objects.get(job_id="j1")
    assert row.status == Status.FAILED and row.error == "ValueError: no"
    assert row.progress is None and row.worker == "host:2"


def test_retrying_goes_forward_only_with_a_higher_try():
    upsert([end(status=Status.RETRYING, tries=1, error="Retry: later", scheduled_for=T0)])
    upsert([start(tries=1)])  # the same try's start, late: ignored
    assert JobResult.objects.get(job_id="j1").status == Status.RETRYING
    upsert([start(tries=2)])
    row = JobResult.objects.get(job_id="j1")
    assert row.status == Status.IN_PROGRESS and row.tries == 2
    assert row.finished_at is None  # the running try has not finished
    assert row.error == "Retry: later"  # the last error stays visible
    upsert([end(tries=2, result=None)])
    row.refresh_from_db()
    assert row.status == Status.COMPLETE and row.tries == 2 and row.finished_at is not None


def test_many_rows_in_one_call_and_unknown_values_keep_the_stored_ones():
    upsert([start(f"j{i}") for i in range(1200)])  # several statements (SQLite's parameter limit)
    assert JobResult.objects.count() == 1200
    upsert(
        [RowUpdate(job_id=f"j{i}", status=Status.IN_PROGRESS, tries=1, progress=0.25) for i in range(1200)]
    )
    assert set(JobResult.objects.values_list("progress", flat=True)) == {0.25}
    assert set(JobResult.objects.values_list("function", flat=True)) == {"add"}


def test_concurrent_writers_cannot_reopen_a_row():
    """Two connections race: one finishing rows, one writing stale starts. Finished always wins."""
    ids = [f"r{i}" for i in range(200)]
    errors: list[BaseException] = []

    def write(updates):
        try:
            for _ in range(5):
                upsert(updates)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=write, args=([end(i) for i in ids],)),
        threading.Thread(target=write, args=([start(i) for i in ids],)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert set(JobResult.objects.values_list("status", flat=True)) == {Status.COMPLETE}


def test_values_that_json_cannot_hold_are_kept_as_repr():
    class Opaque:
        def __repr__(self) -> str:
            return "<Opaque>"

    upsert([end(result=Opaque())])
    assert JobResult.objects.get(job_id="j1").result == {"__arq__": "repr", "v": "<Opaque>"}


def test_times_keep_their_microseconds_and_zone():
    """Times travel as epoch microseconds (SQLite formats them as text): both store the same instant."""
    from zoneinfo import ZoneInfo

    started = dt.datetime(2031, 5, 6, 7, 8, 9, 123457, tzinfo=ZoneInfo("Asia/Kathmandu"))
    finished = dt.datetime(2031, 5, 6, 1, 23, 9, 999999, tzinfo=dt.UTC)
    upsert([end(status=Status.FAILED, started_at=started)._replace(finished_at=finished)])
    row = JobResult.objects.get(job_id="j1")
    assert row.started_at == started and row.finished_at == finished
    assert row.finished_at - row.started_at == dt.timedelta(microseconds=876542)


@pytest.mark.parametrize("microsecond", [0, 500_000, 7])
def test_stored_times_match_what_the_orm_writes(microsecond):
    """Exact lookups compare the stored form (text on SQLite): the mirror must write the ORM's."""
    when = T0.replace(microsecond=microsecond)
    upsert([start()._replace(started_at=when)])
    assert JobResult.objects.filter(started_at=when, enqueued_at=T0).count() == 1
    assert JobResult.objects.filter(started_at__gt=when).count() == 0


def test_without_use_tz_times_are_stored_as_local_wall_time(settings):
    settings.USE_TZ = False
    settings.TIME_ZONE = "Asia/Kathmandu"  # UTC+05:45
    upsert([start()])
    row = JobResult.objects.get(job_id="j1")
    assert row.started_at == dt.datetime(2030, 1, 2, 8, 49, 6)  # T0 + 1 s, naive, in Kathmandu


def test_nan_in_a_result_is_kept_as_repr_and_does_not_block_the_batch():
    """JSON columns refuse NaN and infinities; one such result must not fail everyone's rows."""
    upsert([end("j1", result={"x": float("nan")}), end("j2", result=[float("inf")]), end("j3", result=1.5)])
    results = dict(JobResult.objects.values_list("job_id", "result"))
    assert results == {
        "j1": {"__arq__": "repr", "v": "{'x': nan}"},
        "j2": {"__arq__": "repr", "v": "[inf]"},
        "j3": 1.5,
    }


@pytest.mark.parametrize("microsecond", [0, 7, 999_999])
def test_writes_under_debug_true_through_the_debug_cursor(settings, microsecond):
    """``startproject`` sets ``DEBUG = True``: Django's ``CursorDebugWrapper`` %-formats each statement
    for its query log, so a literal ``%`` in the SQL (``strftime('%Y ...')``) failed every batch there."""
    from django.db.backends.utils import CursorDebugWrapper

    settings.DEBUG = True
    connection = connections["default"]
    with connection.cursor() as cursor:
        assert isinstance(cursor, CursorDebugWrapper)  # the cursor a DEBUG project writes through
    when = T0.replace(microsecond=microsecond)
    connection.queries_log.clear()
    upsert([start("d1")._replace(started_at=when), end("d2", result={"pct": "100%s%%"})])
    rows = {row.job_id: row for row in JobResult.objects.all()}
    assert rows["d1"].started_at == when and rows["d2"].status == Status.COMPLETE
    assert rows["d2"].result == {"pct": "100%s%%"}
    assert any("INSERT INTO" in query["sql"] for query in connection.queries)  # logged, not failed


def test_the_upsert_sql_has_no_literal_percent_sign():
    """Every statement the mirror sends is safe for a %-formatting cursor: its only ``%`` is ``%s``."""
    from arq_django.mirror import writer

    connection = connections["default"]
    table = JobResult._meta.db_table
    statements = [writer._sqlite_sql(table)]
    if connection.vendor == "postgresql":
        statements.append(writer._postgresql_sql(table, writer._column_types(connection)))
    for sql in statements:
        assert sql.replace("%s", "").count("%") == 0, sql
