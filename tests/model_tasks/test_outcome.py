"""Writing a try's outcome on its row: one conditional ``UPDATE`` built without the ORM's compiler, the
ORM's ``update()`` for values it must compile, and nothing written on a row that moved on."""

from __future__ import annotations

import pytest
from django.db import connection, models
from django.db.models import F
from django.utils import timezone

from arq_django.model_tasks import outcome
from tests.model_tasks_app.models import Export

pytestmark = pytest.mark.django_db(transaction=True)


def _row(**fields: object) -> Export:
    """A row of job ``job-1``, try 2, saved without enqueueing its job."""
    return models.QuerySet(Export).bulk_create([Export(name="q1", job_id="job-1", tries=2, **fields)])[0]


def test_the_outcome_is_written_in_one_update_and_reads_back_as_the_orm_wrote_it(row_sql):
    row = _row()
    finished = timezone.now()
    values = {
        "status": "complete",
        "result": {"rows": [1, 2], "ok": True},
        "error": "",
        "finished_at": finished,
        "rows_written": 7,
    }
    assert outcome.write_outcome(Export, row.pk, "job-1", 2, values) is True
    how = "grouped:" if connection.vendor == "sqlite" else "direct:"  # a SQLite file's writer thread
    assert [q.split()[:2] for q in row_sql] == [[how, "UPDATE"]]
    fresh = Export.objects.get(pk=row.pk)
    assert (fresh.status, fresh.result, fresh.finished_at, fresh.rows_written) == (
        "complete",
        {"rows": [1, 2], "ok": True},
        finished,
        7,
    )
    assert fresh.name == "q1"  # a column not named is left alone


@pytest.mark.parametrize(("job_id", "job_try"), [("job-2", 2), ("job-1", 3)])
def test_a_row_of_another_job_or_try_is_left_alone(job_id, job_try):
    row = _row()
    assert outcome.write_outcome(Export, row.pk, job_id, job_try, {"status": "complete"}) is False
    assert outcome.write_outcome(Export, row.pk + 1000, "job-1", 2, {"status": "complete"}) is False
    assert Export.objects.get(pk=row.pk).status == "queued"


def test_an_expression_the_task_set_is_compiled_by_the_orm():
    row = _row(fail_tries=4)
    assert outcome.write_outcome(Export, row.pk, "job-1", 2, {"fail_tries": F("fail_tries") + 1}) is True
    assert Export.objects.get(pk=row.pk).fail_tries == 5
    assert outcome.write_outcome(Export, row.pk, "job-9", 2, {"fail_tries": F("fail_tries") + 1}) is False
    assert Export.objects.get(pk=row.pk).fail_tries == 5


def test_the_sql_is_built_once_per_set_of_columns():
    row = _row()
    outcome._statement.cache_clear()
    for status in ("retrying", "complete"):
        outcome.write_outcome(Export, row.pk, "job-1", 2, {"status": status, "error": ""})
    outcome.write_outcome(Export, row.pk, "job-1", 2, {"status": "failed"})
    info = outcome._statement.cache_info()
    assert (info.hits, info.misses) == (1, 2)
    assert Export.objects.get(pk=row.pk).status == "failed"
