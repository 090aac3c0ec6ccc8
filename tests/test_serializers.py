from __future__ import annotations

import asyncio
import datetime as dt
import pickle
import uuid
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from arq.jobs import deserialize_job, serialize_job
from django.core.exceptions import ImproperlyConfigured
from hypothesis import given
from hypothesis import strategies as st

from arq_django.exceptions import JobFailed
from arq_django.serializers import JSON, PICKLE, get_serializer, json_dumps, json_loads

SAMPLES = [
    dt.datetime(2026, 3, 29, 1, 30, 15, 123456),
    dt.datetime(2026, 3, 29, 1, 30, tzinfo=dt.UTC),
    dt.datetime(2026, 3, 29, 3, 30, tzinfo=ZoneInfo("Europe/Paris")),
    dt.datetime(2026, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=-3, minutes=-30))),
    dt.date(1999, 12, 31),
    dt.time(23, 59, 59, 999999),
    dt.time(8, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))),
    dt.timedelta(days=-1, seconds=5, microseconds=7),
    Decimal("1234567890.000000000001"),
    Decimal("-0.00"),
    uuid.uuid4(),
    b"\x00\xffbinary",
    {"nested": [1, 2.5, None, True, "x", {"deep": Decimal("1.1")}]},
    {"__arq__": "datetime", "v": "not a tag, a user dict"},
    {1, 2, 3},
]


@pytest.mark.parametrize("value", SAMPLES, ids=[type(v).__name__ + str(i) for i, v in enumerate(SAMPLES)])
def test_exact_round_trip(value):
    back = json_loads(json_dumps(value))
    assert back == value
    assert type(back) is type(value)
    if isinstance(value, (dt.datetime, dt.time)):
        assert back.tzinfo == value.tzinfo or back.utcoffset() == value.utcoffset()
        if isinstance(value, dt.datetime) and isinstance(value.tzinfo, ZoneInfo):
            assert back.tzinfo == value.tzinfo


def test_naive_stays_naive_and_aware_stays_aware():
    naive = dt.datetime(2026, 1, 1, 12)
    assert json_loads(json_dumps(naive)).tzinfo is None
    assert json_loads(json_dumps(naive.replace(tzinfo=dt.UTC))).tzinfo is not None


def test_tags_are_not_str_forms():
    assert json_loads(json_dumps(str(Decimal("1.5")))) == "1.5"
    assert json_loads(json_dumps(Decimal("1.5"))) == Decimal("1.5")


@given(
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.text()
        | st.binary()
        | st.decimals(allow_nan=False)
        | st.datetimes()
        | st.uuids()
        | st.timedeltas(),
        lambda children: st.lists(children) | st.dictionaries(st.text(), children),
        max_leaves=20,
    )
)
def test_round_trip_property(value):
    assert json_loads(json_dumps(value)) == value


@pytest.mark.parametrize("value", [object(), {1: "int key"}, float("nan"), lambda: 1])
def test_unencodable_values_raise(value):
    with pytest.raises((TypeError, ValueError)):
        json_dumps(value)


def test_exceptions_become_job_failed_without_importing_anything():
    back = json_loads(json_dumps(ValueError("bad input")))
    assert isinstance(back, JobFailed)
    assert back.exc_type == "builtins.ValueError" and back.message == "bad input"
    assert isinstance(json_loads(json_dumps(asyncio.CancelledError())), asyncio.CancelledError)


def test_arq_record_round_trip():
    record = serialize_job(
        "email", (1, dt.date(2020, 1, 2)), {"to": "a@b.c"}, None, 1700000000000, serializer=JSON.dumps
    )
    job = deserialize_job(record, deserializer=JSON.loads)
    assert (job.function, list(job.args), job.kwargs) == ("email", [1, dt.date(2020, 1, 2)], {"to": "a@b.c"})


def test_json_is_the_default_and_pickle_is_opt_in(settings):
    assert get_serializer() is JSON
    settings.ARQ_DJANGO = {"SERIALIZER": "pickle"}
    assert get_serializer() is PICKLE


class Custom:
    @staticmethod
    def dumps(value):
        return pickle.dumps(("custom", value))

    @staticmethod
    def loads(data):
        return pickle.loads(data)[1]


def test_dotted_path_serializer(settings):
    settings.ARQ_DJANGO = {"SERIALIZER": "tests.test_serializers.Custom"}
    serializer = get_serializer()
    assert serializer.loads(serializer.dumps({"a": 1})) == {"a": 1}


def test_bad_dotted_path(settings):
    settings.ARQ_DJANGO = {"SERIALIZER": "tests.test_serializers.SAMPLES"}
    with pytest.raises(ImproperlyConfigured, match="dumps"):
        get_serializer()


def test_loads_takes_what_json_loads_takes():
    """str, UTF-8 bytes, other UTFs json.loads detects, and bytearray all decode, tags included."""
    value = {"when": dt.datetime(2026, 1, 2, 3, 4, 5), "n": [1, 2.5, None]}
    text = json_dumps(value).decode()
    assert json_loads(text) == value
    assert json_loads(text.encode()) == value
    assert json_loads(text.encode("utf-16")) == value
    assert json_loads(bytearray(text.encode())) == value
    with pytest.raises(TypeError, match="must be str, bytes or bytearray"):
        json_loads(memoryview(text.encode()))  # type: ignore[arg-type]


def test_plain_values_inside_containers_keep_their_types():
    data = {"a": [1, "x", None, True, 2.5, (3, 4)], "b": {"c": False}}
    assert json_loads(json_dumps(data)) == {"a": [1, "x", None, True, 2.5, [3, 4]], "b": {"c": False}}
