"""Our record codec (arq_django.client.wire) and key names against arq's own: the same bytes and the same
decoded values, so arq workers and producers and ours read each other's records."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

import arq.constants
import arq.jobs
import arq.utils
import arq.worker
import pytest
from hypothesis import given
from hypothesis import strategies as st

from arq_django import keys
from arq_django.client import wire
from arq_django.exceptions import JobFailed, Retry, RetryRequested, UnreadableRecord
from arq_django.serializers import JSON, PICKLE

SERIALIZERS = [JSON, PICKLE]
ARGS = (1, "x", Decimal("1.5"), dt.date(2026, 1, 2), b"\x00", None)
KWARGS = {"to": "a@b.c", "when": dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC), "n": [1, 2]}
ids = [s.name for s in SERIALIZERS]


def test_arq_key_names_are_arqs_constants():
    assert keys.default_queue_name == arq.constants.default_queue_name
    assert keys.job_key_prefix == arq.constants.job_key_prefix
    assert keys.in_progress_key_prefix == arq.constants.in_progress_key_prefix
    assert keys.result_key_prefix == arq.constants.result_key_prefix
    assert keys.retry_key_prefix == arq.constants.retry_key_prefix
    assert keys.abort_jobs_ss == arq.constants.abort_jobs_ss
    assert keys.health_check_key_suffix == arq.constants.health_check_key_suffix


@pytest.mark.parametrize("serializer", SERIALIZERS, ids=ids)
@pytest.mark.parametrize("job_try", [None, 1, 3])
def test_a_job_record_is_byte_for_byte_arqs(serializer, job_try):
    ours = wire.encode_job("email", ARGS, KWARGS, job_try, 1_767_225_600_123, serializer.dumps)
    theirs = arq.jobs.serialize_job(
        "email", ARGS, KWARGS, job_try, 1_767_225_600_123, serializer=serializer.dumps
    )
    assert ours == theirs


@pytest.mark.parametrize("serializer", SERIALIZERS, ids=ids)
def test_a_job_record_decodes_as_arq_decodes_it(serializer):
    raw = arq.jobs.serialize_job("email", ARGS, KWARGS, 2, 1_767_225_600_123, serializer=serializer.dumps)
    ours = wire.decode_job(raw, serializer.loads)
    theirs = arq.jobs.deserialize_job(raw, deserializer=serializer.loads)
    assert (ours.function, list(ours.args), ours.kwargs, ours.job_try) == (
        theirs.function,
        list(theirs.args),
        theirs.kwargs,
        theirs.job_try,
    )
    assert ours.enqueue_time == theirs.enqueue_time  # the same instant (arq may convert the zone)
    assert ours.enqueue_time.tzinfo is not None


def _arq_result(serializer, *, success, result):
    return arq.jobs.serialize_result(
        "email", ARGS, KWARGS, 2, 1_000, success, result, 2_000, 3_500, "ref", "mail", "j1",
        serializer=serializer.dumps,
    )  # fmt: skip


@pytest.mark.parametrize("serializer", SERIALIZERS, ids=ids)
@pytest.mark.parametrize("success", [True, False])
def test_a_result_record_is_byte_for_byte_arqs_and_decodes_the_same(serializer, success):
    failure = JobFailed("ValueError", "bad address") if serializer is JSON else ValueError("bad address")
    result = {"sent": 3} if success else failure
    theirs = _arq_result(serializer, success=success, result=result)
    job = wire.JobRecord(
        function="email",
        args=ARGS,
        kwargs=KWARGS,
        job_try=2,
        enqueue_time=wire.ms_to_datetime(1_000),
        job_id="j1",
    )
    ours = wire.encode_result(
        job,
        success=success,
        result=result,
        start_ms=2_000,
        finish_ms=3_500,
        queue_name="mail",
        dumps=serializer.dumps,
    )
    assert ours == theirs
    decoded = wire.decode_result(theirs, serializer.loads)
    arq_decoded = arq.jobs.deserialize_result(theirs, deserializer=serializer.loads)
    for field in ("function", "kwargs", "job_try", "success", "queue_name", "job_id"):
        assert getattr(decoded, field) == getattr(arq_decoded, field), field
    assert list(decoded.args) == list(arq_decoded.args)
    assert (decoded.enqueue_time, decoded.start_time, decoded.finish_time) == (
        arq_decoded.enqueue_time,
        arq_decoded.start_time,
        arq_decoded.finish_time,
    )
    if success:
        assert decoded.result == arq_decoded.result == {"sent": 3}
    else:
        assert str(decoded.result) == str(arq_decoded.result)


def test_an_aborted_job_keeps_its_cancelled_error_under_pickle():
    raw = _arq_result(PICKLE, success=False, result=asyncio.CancelledError())
    assert isinstance(wire.decode_result(raw, PICKLE.loads).result, asyncio.CancelledError)


def test_an_old_result_without_queue_or_id_reads_as_arq_reads_it():
    raw = PICKLE.dumps({"t": 1, "f": "f", "a": (), "k": {}, "et": 1, "s": True, "r": 1, "st": 2, "ft": 3})
    assert (
        wire.decode_result(raw, PICKLE.loads).queue_name,
        wire.decode_result(raw, PICKLE.loads).job_id,
    ) == (
        "<unknown>",
        "<unknown>",
    )


@pytest.mark.parametrize(
    "raw", [b"not json", b"[1, 2]", JSON.dumps({"f": "x"})], ids=["garbage", "not-a-dict", "no-fields"]
)
def test_an_unreadable_record_raises_our_error(raw):
    with pytest.raises(UnreadableRecord, match="unable to read job"):
        wire.decode_job(raw, JSON.loads)
    with pytest.raises(UnreadableRecord, match="unable to read job result"):
        wire.decode_result(raw, JSON.loads)


def test_a_job_record_is_not_a_result_record():
    raw = wire.encode_job("f", (), {}, None, 1, JSON.dumps)
    with pytest.raises(UnreadableRecord, match="no 's' field"):
        wire.decode_result(raw, JSON.loads)


@given(st.floats(min_value=0, max_value=10**9, allow_nan=False), st.integers(0, 10**13))
def test_time_helpers_agree_with_arqs(seconds, ms):
    assert wire.to_ms(seconds) == arq.utils.to_ms(seconds)
    assert wire.to_ms(dt.timedelta(seconds=seconds)) == arq.utils.to_ms(dt.timedelta(seconds=seconds))
    assert wire.ms_to_datetime(ms) == arq.utils.ms_to_datetime(ms)


def test_timestamp_ms_is_now_in_ms():
    before = arq.utils.timestamp_ms()
    now = wire.timestamp_ms()
    assert before <= now <= arq.utils.timestamp_ms()


@pytest.mark.parametrize("defer", [None, 0, 1.5, dt.timedelta(seconds=2)])
def test_our_retry_carries_the_delay_as_arqs_does(defer):
    assert Retry is RetryRequested
    assert Retry(defer=defer).defer_score == arq.worker.Retry(defer=defer).defer_score
    assert str(Retry(defer=defer)) == str(arq.worker.Retry(defer=defer))
