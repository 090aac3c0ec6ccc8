"""Row updates: events become updates; updates of one job merge by rank, unknown fields filled."""

from __future__ import annotations

import datetime as dt

from arq_django.jobs.progress import ProgressUpdate
from arq_django.mirror.rows import RowUpdate, collect, merge
from arq_django.models import JobResult
from arq_django.worker.events import JobEnd, JobStart, Outcome

T0 = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
Status = JobResult.Status


def start(job_try: int = 1, deferred: bool = False) -> JobStart:
    return JobStart(
        job_id="j",
        function="f",
        queue_name="q",
        args=(1,),
        kwargs={"k": 2},
        job_try=job_try,
        max_tries=3,
        enqueue_time=T0,
        scheduled_for=T0 + dt.timedelta(hours=1 if deferred else 0),
        started_at=T0 + dt.timedelta(hours=2),
        worker="w:1",
    )


def end(outcome: Outcome, job_try: int = 1, **extra) -> JobEnd:
    return JobEnd(
        job_id="j",
        function="f",
        queue_name="q",
        args=(1,),
        kwargs={"k": 2},
        job_try=job_try,
        max_tries=3,
        enqueue_time=T0,
        started_at=T0 + dt.timedelta(hours=2),
        finished_at=T0 + dt.timedelta(hours=3),
        worker="w:1",
        outcome=outcome,
        **extra,
    )


def progress(fraction: float, job_try: int = 1) -> ProgressUpdate:
    return ProgressUpdate("j", "q", job_try, fraction, f"at {fraction}")


def collected(*reports) -> RowUpdate:
    rows: dict[str, RowUpdate] = {}
    collect(list(reports), rows)
    (row,) = rows.values()
    return row


def test_start_progress_and_end_make_one_finished_row():
    row = collected(start(deferred=True), progress(0.5), end(Outcome.COMPLETE, result={"ok": 1}))
    assert row.status == Status.COMPLETE and row.result == {"ok": 1} and row.progress == 0.5
    assert row.scheduled_for == T0 + dt.timedelta(hours=1) and row.args == (1,)
    assert collected(start(), end(Outcome.COMPLETE)).scheduled_for is None  # not deferred


def test_a_running_job_keeps_its_latest_progress():
    row = collected(start(), progress(0.25), progress(0.75))
    assert row.status == Status.IN_PROGRESS and row.progress == 0.75 and row.progress_message == "at 0.75"


def test_retry_then_next_try_in_one_batch():
    retry_at = T0 + dt.timedelta(hours=4)
    row = collected(start(1), end(Outcome.RETRYING, error="Retry: x", retry_at=retry_at), start(2))
    assert row.status == Status.IN_PROGRESS and row.tries == 2
    assert row.error == "Retry: x" and row.finished_at is None  # the running try has not finished


def test_merge_prefers_the_higher_rank_whatever_the_order():
    done = RowUpdate(job_id="j", status=Status.FAILED, tries=1, error="E: x", worker="w:2")
    late = RowUpdate(job_id="j", status=Status.IN_PROGRESS, tries=1, function="f", worker="w:1", progress=0.3)
    for row in (merge(done, late), merge(late, done)):
        assert row.status == Status.FAILED and row.worker == "w:2"
        assert row.function == "f" and row.progress == 0.3  # gaps filled from the lower one


def test_an_unreadable_job_does_not_blank_what_is_known():
    ghost = end(Outcome.FAILED, error="JobExecutionFailed: job expired")
    ghost = JobEnd(**{**ghost.__dict__, "function": "<unknown>", "args": (), "kwargs": {}})
    row = collected(ghost)
    assert row.function == "" and row.args is None and row.kwargs is None
