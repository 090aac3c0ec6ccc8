"""The job id rule (arq_django.jobs.job_ids), enforced on every enqueue path: enqueue(), aenqueue(), the
arq_enqueue command and the API."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from arq_django import aenqueue, enqueue
from arq_django.exceptions import InvalidJobId
from arq_django.jobs.job_ids import MAX_LENGTH, RULE, check_job_id, check_not_reserved

BAD_IDS = [
    "",
    "a\nb",
    "a\rb",
    "nul\x00id",
    "a/b",
    "space id",
    "é",
    "\ud800",
    "x" * (MAX_LENGTH + 1),
    "x" * 10_000,
]
GOOD_IDS = ["a", "order-17", "user@example.com", "a.b_c:d+e=f", "x" * MAX_LENGTH, "0123456789abcdef" * 2]


@pytest.mark.parametrize("job_id", BAD_IDS)
def test_rule_refuses(job_id):
    with pytest.raises(InvalidJobId) as info:
        check_job_id(job_id, job="email")
    message = str(info.value)
    assert "job 'email'" in message and RULE in message
    assert "\n" not in message and "\r" not in message and "\x00" not in message  # no log injection
    assert len(message) < 400  # a 10 KB id is not echoed whole


@pytest.mark.parametrize("job_id", GOOD_IDS)
def test_rule_accepts(job_id):
    assert check_job_id(job_id, job="email") == job_id


def test_non_strings_are_refused():
    for job_id in (7, None, b"id", ["a"]):
        with pytest.raises(InvalidJobId, match="is not allowed"):
            check_job_id(job_id, job="email")


def test_reserved_shapes():
    crons = {"nightly"}
    for job_id in ("unique:add:" + "0" * 64, "nightly:1700000000000"):
        with pytest.raises(InvalidJobId, match="is reserved"):
            check_not_reserved(job_id, job="add", cron_names=crons)
    for job_id in ("nightly", "order:17", "nightly:x1", "unique-ish"):
        assert check_not_reserved(job_id, job="add", cron_names=crons) == job_id


@pytest.mark.parametrize("job_id", ["a\nb", "x" * 256, "nul\x00"])
def test_enqueue_refuses_before_writing(fake_redis, job_id):
    with pytest.raises(InvalidJobId, match="job 'add': job id"):
        enqueue("add", 1, 2, _job_id=job_id)
    assert fake_redis.zcard("arq:queue") == 0


async def test_aenqueue_refuses(fake_redis):
    with pytest.raises(InvalidJobId, match="1 to 255 characters"):
        await aenqueue("add", 1, 2, _job_id="line\nbreak")
    assert fake_redis.zcard("arq:queue") == 0


def test_arq_enqueue_command_refuses(fake_redis):
    with pytest.raises(CommandError, match="job 'add': job id 'a b' is not allowed"):
        call_command("arq_enqueue", "add", "--args", "[1, 2]", "--job-id", "a b")
    assert fake_redis.zcard("arq:queue") == 0
