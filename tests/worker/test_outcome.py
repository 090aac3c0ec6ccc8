"""A try's outcome as one value: arq's four except branches classified, and the one JobEnd builder."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from arq.worker import Retry, RetryJob

from arq_django.worker.events import Outcome
from arq_django.worker.outcome import NO_RESULT, TryOutcome, classify, completed, job_end

NOW = 1_000_000


def _classify(exc: BaseException, **overrides: object) -> TryOutcome:
    kwargs: dict = dict(retry_jobs=True, aborting=False, timed_out=False, timeout_s=2.5, score=NOW - 100)
    kwargs.update(overrides)
    return classify(exc, finished_ms=NOW, **kwargs)


def test_completed_finishes_with_the_return_value():
    ended = completed({"n": 3})
    assert ended.outcome is Outcome.COMPLETE and ended.success and ended.finish
    assert ended.result == {"n": 3} and ended.error == "" and ended.incr_score is None


def test_a_failure_stores_the_exception_and_its_traceback():
    try:
        raise ValueError("kaput")
    except ValueError as e:
        ended = _classify(e)
    assert ended.outcome is Outcome.FAILED and ended.finish and not ended.success
    assert ended.result is ended.exception and isinstance(ended.result, ValueError)
    assert ended.error == "ValueError: kaput"
    assert 'raise ValueError("kaput")' in ended.traceback
    assert ended.log == "! %s failed, %s" and ended.log_args == ("ValueError: kaput",)


def test_the_job_timeout_is_reported_as_such():
    ended = _classify(TimeoutError(), timed_out=True)
    assert ended.outcome is Outcome.FAILED
    assert ended.error == "TimeoutError: timed out after 2.5 s"
    assert isinstance(ended.result, TimeoutError) and str(ended.result) == "timed out after 2.5 s"
    # a TimeoutError the handler raised itself is its own failure
    assert _classify(TimeoutError("upstream")).error == "TimeoutError: upstream"


def test_retry_requeues_with_arqs_score_increment():
    ended = _classify(Retry(defer=3))
    assert ended.outcome is Outcome.RETRYING and not ended.finish and ended.result is NO_RESULT
    assert ended.incr_score is not None and ended.incr_score >= 3000
    assert ended.retry_at_ms == NOW - 100 + ended.incr_score
    assert ended.log == "↻ %s retrying job in %0.2fs" and ended.log_args == (3.0,)
    no_defer = _classify(Retry())
    assert no_defer.incr_score is None and no_defer.retry_at_ms == NOW - 100


def test_a_retry_policys_retry_reports_its_cause():
    cause = ConnectionError("refused")
    retry = Retry(defer=1)
    retry.__cause__ = cause
    ended = _classify(retry)
    assert ended.outcome is Outcome.RETRYING
    assert ended.exception is cause and ended.error == "ConnectionError: refused"


def test_an_aborted_job_finishes_with_the_cancellation():
    cancel = asyncio.CancelledError()
    ended = _classify(cancel, aborting=True)
    assert ended.outcome is Outcome.ABORTED and ended.finish and ended.result is cancel
    assert ended.error == "aborted" and ended.log == "⊘ %s aborted"


def test_a_shutdown_cancellation_or_retryjob_runs_again():
    for exc in (asyncio.CancelledError(), RetryJob()):
        ended = _classify(exc)
        assert ended.outcome is Outcome.RETRYING and not ended.finish and ended.result is NO_RESULT
        assert ended.retry_at_ms == NOW and ended.incr_score is None
        assert ended.error == "cancelled by worker shutdown; will run again"


def test_without_retry_jobs_retry_and_cancellation_fail():
    assert _classify(Retry(defer=1), retry_jobs=False).outcome is Outcome.FAILED
    assert _classify(asyncio.CancelledError(), retry_jobs=False).outcome is Outcome.FAILED
    # an abort still wins over retry_jobs=False, as in arq
    assert _classify(asyncio.CancelledError(), retry_jobs=False, aborting=True).outcome is Outcome.ABORTED


def test_job_end_carries_the_outcome():
    at = datetime(2026, 1, 1, tzinfo=UTC)
    fields = dict(
        job_id="j",
        function="f",
        queue_name="arq:queue",
        args=(1,),
        kwargs={},
        job_try=1,
        max_tries=5,
        enqueue_time=None,
        started_at=at,
        finished_at=at,
        worker="h:1",
    )
    done = job_end(**fields, ended=completed(7))
    assert done.outcome is Outcome.COMPLETE and done.result == 7 and done.retry_at is None
    failed = job_end(**fields, ended=_classify(ValueError("x")))
    assert (
        failed.result is None and failed.error == "ValueError: x" and isinstance(failed.exception, ValueError)
    )
    retrying = job_end(**fields, ended=_classify(Retry(defer=1)))
    assert retrying.outcome is Outcome.RETRYING and retrying.retry_at is not None
