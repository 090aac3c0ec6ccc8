"""Property suite (issue 14): whatever arguments, results, errors and ids reach the mirror, every row is
written (as it is, cleaned, or set aside with a note), reads back, lists in the admin, and keeps no
other job's row from being written. Runs on SQLite and PostgreSQL (``make test-postgres``).

Its tally (rows and results tried; written under their own id, under a cleaned id, set aside; the
good rows beside them written exactly; rows blocked) goes to
``.run/hardening-counts-<database>.json``.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import redis
from arq.constants import result_key_prefix
from arq.jobs import serialize_result
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arq_django.connection import sync_client
from arq_django.mirror.clean import fit_id
from arq_django.mirror.reconcile import reconcile
from arq_django.mirror.rows import RowUpdate
from arq_django.mirror.writer import upsert
from arq_django.models import JobResult
from arq_django.serializers import get_serializer
from tests.hardening import IDS, JSON_VALUES, NASTY_TEXT, record

pytestmark = pytest.mark.django_db(transaction=True)
Status = JobResult.Status
COUNTS: Counter[str] = Counter()
NOTE = "[result mirror: the database refused this row"
SETTINGS = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)

VALUES = st.one_of(
    JSON_VALUES,
    st.binary(max_size=8),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.sets(st.integers(), max_size=3),
    st.dictionaries(st.integers(), st.integers(), min_size=1, max_size=2),  # keys JSON cannot hold
    st.builds(ValueError, NASTY_TEXT),
)
"""A handler's arguments and results: anything the serializer took."""
MOMENTS = st.none() | st.datetimes(
    min_value=dt.datetime(1970, 1, 2), max_value=dt.datetime(9999, 12, 30), timezones=st.just(dt.UTC)
)


@st.composite
def row_updates(draw: st.DrawFn, job_id: str) -> RowUpdate:
    return RowUpdate(
        job_id=job_id,
        status=draw(st.sampled_from(list(Status))),
        tries=draw(st.integers(0, 5) | st.integers(-3, 2**40)),
        function=draw(st.just("add") | NASTY_TEXT | st.text(min_size=256, max_size=300)),
        queue_name=draw(st.just("arq:queue") | NASTY_TEXT),
        args=draw(st.none() | st.lists(VALUES, max_size=3).map(tuple)),
        kwargs=draw(st.none() | st.dictionaries(NASTY_TEXT, VALUES, max_size=3)),
        result=draw(st.none() | VALUES),
        error=draw(NASTY_TEXT),
        traceback=draw(NASTY_TEXT),
        max_tries=draw(st.none() | st.integers(-3, 2**40)),
        enqueued_at=draw(MOMENTS),
        scheduled_for=draw(MOMENTS),
        started_at=draw(MOMENTS),
        finished_at=draw(MOMENTS),
        worker=draw(NASTY_TEXT),
        progress=draw(st.none() | st.floats()),
        progress_message=draw(NASTY_TEXT),
    )


def canary(i: int) -> RowUpdate:
    return RowUpdate(f"canary-{i}", Status.COMPLETE, 1, "add", "arq:queue", args=(i,), result={"n": i})


@pytest.fixture
def admin_client() -> Client:
    user = User.objects.create_superuser("hardening", "h@example.com", "pw")
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture(scope="module", autouse=True)
def tally() -> Iterator[None]:
    yield
    if COUNTS:
        record("mirror", COUNTS)


def texts(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from texts(key)
            yield from texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from texts(item)


def readable(row: JobResult) -> None:
    """The row's text is what UTF-8 and PostgreSQL can hold: no NUL, no lone surrogate."""
    values: list[Any] = [row.job_id, row.function, row.queue_name, row.error, row.traceback, row.worker]
    values += [row.progress_message, row.args, row.kwargs, row.result]
    for text in texts(values):
        assert "\x00" not in text, (row.job_id, text)
        text.encode("utf-8")


def check_written(job_ids: list[str], admin_client: Client) -> None:
    stored = {row.job_id: row for row in JobResult.objects.all()}
    blocked = [job_id for job_id in job_ids if fit_id(job_id) not in stored]
    COUNTS["rows_blocked"] += len(blocked)
    for job_id in job_ids:
        row = stored.get(fit_id(job_id))
        if row is not None and not job_id.startswith("canary-"):
            key = "set_aside" if NOTE in row.error else "id_replaced" if row.job_id != job_id else "written"
            COUNTS[key] += 1
    assert blocked == []
    for row in stored.values():
        readable(row)
    for i in range(5):  # the good rows of the batch, exactly as sent
        row = stored[f"canary-{i}"]
        assert (row.status, row.args, row.result, row.error) == (Status.COMPLETE, [i], {"n": i}, "")
    COUNTS["good_rows_exact"] += 5
    assert admin_client.get(reverse("admin:arq_django_jobresult_changelist")).status_code == 200


@SETTINGS
@given(data=st.data(), job_ids=st.lists(IDS, min_size=1, max_size=5, unique_by=fit_id))
def test_no_value_keeps_a_row_from_being_written(admin_client, data, job_ids):
    JobResult.objects.all().delete()
    rows = [data.draw(row_updates(job_id)) for job_id in job_ids]
    COUNTS["rows_tried"] += len(rows)
    assert upsert([*rows, *(canary(i) for i in range(5))]) == len(rows) + 5
    check_written(job_ids, admin_client)


@SETTINGS
@given(
    records=st.lists(
        st.tuples(
            st.binary(min_size=1, max_size=12) | IDS.map(lambda s: s.encode("utf-8", "surrogatepass")), VALUES
        ),
        min_size=1,
        max_size=5,
        unique_by=lambda r: fit_id(r[0].decode("utf-8", "backslashreplace")),
    )
)
def test_reconcile_writes_every_result_whatever_its_key_or_value(redis_url, admin_client, records):
    JobResult.objects.all().delete()
    client: redis.Redis = sync_client()
    client.flushdb()
    dumps = get_serializer().dumps
    job_ids = []
    canaries = [(f"canary-{i}".encode(), (i,), {"n": i}) for i in range(5)]
    for key, args, value in [*((key, (value,), value) for key, value in records), *canaries]:
        job_id = key.decode("utf-8", "backslashreplace")
        result = serialize_result(
            "add", args, {}, 1, 1, True, value, 2, 3, "ref", "arq:queue", job_id, serializer=dumps
        )
        if result is None:  # nothing the serializer can hold: arq stores no result, so there is no row
            continue
        client.set(result_key_prefix.encode() + key, result)
        job_ids.append(job_id)
    stored = len(job_ids) - len(canaries)
    COUNTS["results_tried"] += stored
    COUNTS["results_arq_cannot_store"] += len(records) - stored  # no result record, so no row
    assert reconcile(client) == len(job_ids)
    check_written(job_ids, admin_client)
    assert reconcile(client) == 0


def test_a_result_with_an_integer_past_any_column_and_a_decimal_nan():
    assert upsert([canary(0), RowUpdate("big", Status.COMPLETE, 1, result=[2**200, Decimal("NaN")])]) == 2
    assert JobResult.objects.get(job_id="big").result[0] in (2**200, float(2**200))
