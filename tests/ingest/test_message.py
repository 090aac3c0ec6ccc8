"""The list message format: parsing and planning, without Redis."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from arq_django.exceptions import MalformedMessage
from arq_django.ingest.message import parse, plan
from arq_django.serializers import JSON


def msg(obj: object) -> bytes:
    return json.dumps(obj).encode()


def test_type_and_data_become_job_and_keyword_arguments():
    message = parse(msg({"type": "email", "data": {"to": "a@example.com", "subject": "s", "body": "b"}}))
    spec, job_plan = plan(message, "async_tasks")
    assert spec.name == "email" and job_plan.function == "email"
    assert job_plan.job_id.startswith("list:async_tasks:") and not job_plan.guarded
    record = JSON.loads(job_plan.payload)
    assert record["f"] == "email" and record["a"] == []
    assert record["k"] == {"to": "a@example.com", "subject": "s", "body": "b"}


def test_two_identical_messages_get_different_ids():
    raw = msg({"type": "add", "args": [1, 2]})
    assert plan(parse(raw), "k")[1].job_id != plan(parse(raw), "k")[1].job_id


def test_args_and_options_are_honoured():
    raw = msg(
        {
            "type": "add",
            "args": [1],
            "data": {"b": 2},
            "options": {"job_id": "order-7", "defer_by": 30, "expires": 60},
            "sent_by": "php",  # producers' own metadata is ignored
        }
    )
    _, job_plan = plan(parse(raw), "k")
    assert job_plan.job_id == "order-7" and job_plan.guarded
    assert job_plan.expires_ms == 60_000
    assert JSON.loads(job_plan.payload)["a"] == [1]


def test_defer_until_accepts_iso_and_epoch():
    iso = parse(msg({"type": "add", "options": {"defer_until": "2030-01-02T03:04:05+00:00"}}))
    epoch = parse(msg({"type": "add", "options": {"defer_until": 1893553445}}))
    assert iso.defer_until == epoch.defer_until == datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b"not json", "not valid JSON"),
        (b"\xff\xfe", "not UTF-8"),
        (b"[1, 2]", "not a JSON object but an array"),
        (b'"email"', "but a string"),
        (msg({"data": {}}), '"type" must be a non-empty string'),
        (msg({"type": 5}), '"type" must be a non-empty string'),
        (msg({"type": "email", "data": [1]}), "\"data\" of 'email' must be a JSON object"),
        (msg({"type": "email", "data": None}), "got null"),
        (msg({"type": "add", "args": {"a": 1}}), "\"args\" of 'add' must be a JSON array"),
        (msg({"type": "add", "options": []}), "\"options\" of 'add' must be a JSON object"),
        (msg({"type": "add", "options": {"delay": 5}}), "unknown keys ['delay']"),
        (msg({"type": "add", "options": {"defer_by": "soon"}}), "options.defer_by"),
        (msg({"type": "add", "options": {"job_id": 7}}), "options.job_id"),
        (msg({"type": "add", "options": {"defer_until": "tomorrow"}}), "options.defer_until"),
    ],
)
def test_malformed_messages_say_why(raw, fragment):
    with pytest.raises(MalformedMessage) as err:
        parse(raw)
    assert fragment in err.value.reason


@pytest.mark.parametrize(
    ("obj", "fragment"),
    [
        ({"type": "nope"}, "unknown type 'nope'"),
        ({"type": "email", "data": {"to": "x"}}, "data does not fit job email(to, subject, body)"),
        ({"type": "add", "args": [1, 2, 3]}, "too many positional arguments"),
        ({"type": "add", "args": [1, 2], "options": {"queue": "nowhere"}}, "queue 'nowhere' is not a known"),
        ({"type": "mail_job", "args": [1], "options": {"queue": "other"}}, "pinned to queue 'mail'"),
        ({"type": "add", "args": [1, 2], "options": {"priority": 500}}, "priority must be a whole number"),
        ({"type": "add", "args": [1, 2], "options": {"defer_by": -1}}, "must not be negative"),
        ({"type": "add", "args": [1, 2], "options": {"expires": 0}}, "_expires must be positive"),
    ],
)
def test_messages_a_job_cannot_take_are_refused_before_redis(obj, fragment):
    with pytest.raises(MalformedMessage) as err:
        plan(parse(msg(obj)), "k")
    assert fragment in err.value.reason


def test_queue_and_priority_options_route_the_job():
    raw = msg({"type": "add", "args": [1, 2], "options": {"queue": "reports", "priority": 10}})
    _, job_plan = plan(parse(raw), "k")
    assert job_plan.queue_name == "reports" and job_plan.priority == 10
    _, pinned = plan(parse(msg({"type": "mail_job", "args": [1]})), "k")
    assert pinned.queue_name == "mail"
