"""Pruning old rows: the command, its options and the cron job RESULT_RETENTION adds."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from arq.constants import result_key_prefix
from asgiref.sync import async_to_sync
from django.core.management import CommandError, call_command
from django.utils import timezone

from arq_django.mirror.retention import CRON_NAME, parse_age, prune, prune_results
from arq_django.models import JobResult
from arq_django.worker.settings import build

Status = JobResult.Status


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("7d", 7 * 86400),
        ("12h", 43200),
        ("30m", 1800),
        ("90s", 90),
        ("90", 90),
        ("2w", 1209600),
        ("1.5h", 5400),
    ],
)
def test_parse_age(text, seconds):
    assert parse_age(text) == dt.timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "7x", "d7", "-1d", "7 days"])
def test_parse_age_rejects_nonsense(text):
    with pytest.raises(ValueError, match="is not an age"):
        parse_age(text)


@pytest.fixture
def rows(db):
    now = timezone.now()
    old = now - dt.timedelta(days=8)
    made = {}
    for job_id, status, finished in [
        ("old-done", Status.COMPLETE, old),
        ("old-failed", Status.FAILED, old),
        ("new-done", Status.COMPLETE, now),
        ("old-queued", Status.QUEUED, None),
    ]:
        made[job_id] = JobResult.objects.create(
            job_id=job_id,
            status=status,
            function="add",
            queue_name="q",
            enqueued_at=old,
            finished_at=finished,
        )
    made["retry"] = JobResult.objects.create(
        job_id="retry",
        status=Status.QUEUED,
        function="add",
        queue_name="q",
        enqueued_at=now,
        retry_of=made["old-done"],
    )
    return made


def run(*args: str) -> str:
    out = StringIO()
    call_command("arq_prune_results", *args, stdout=out)
    return out.getvalue()


def remaining() -> list[str]:
    return sorted(JobResult.objects.values_list("job_id", flat=True))


def test_command_dry_run_then_prune_finished_rows(rows, redis_client):
    redis_client.set(result_key_prefix + "old-done", b"x")
    assert (
        run("--older-than", "7d", "--dry-run")
        == "would delete 2 job result row(s) older than 7 days, 0:00:00\n"
    )
    assert len(remaining()) == 5
    assert run("--older-than", "7d").startswith("deleted 2 ")
    assert remaining() == ["new-done", "old-queued", "retry"]
    assert JobResult.objects.get(job_id="retry").retry_of is None
    assert not redis_client.exists(result_key_prefix + "old-done")


def test_command_status_filter_and_bad_input(rows, redis_url):
    assert run("--older-than", "7d", "--status", "queued").startswith("deleted 1 ")
    assert "old-queued" not in remaining() and "old-done" in remaining()
    with pytest.raises(CommandError, match="is not an age"):
        run("--older-than", "soon")
    with pytest.raises(CommandError):
        run("--older-than", "7d", "--status", "done")
    with pytest.raises(ValueError, match="unknown statuses"):
        prune(dt.timedelta(days=1), ["done"])


def test_cron_entry_follows_result_retention(settings, rows, redis_url):
    assert CRON_NAME not in {c.name for c in build()["cron_jobs"]}
    settings.ARQ_DJANGO = {**settings.ARQ_DJANGO, "RESULT_RETENTION": dt.timedelta(days=7)}
    (cron,) = [c for c in build()["cron_jobs"] if c.name == CRON_NAME]
    assert [c.name for c in build("cron-test")["cron_jobs"]] == ["every_second", CRON_NAME]
    assert cron.name == CRON_NAME and cron.unique and cron.minute == 17
    assert async_to_sync(prune_results)({}) == 2  # the ORM runs back in this thread (this test's transaction)
