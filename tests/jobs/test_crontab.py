"""Cron entries: crontab strings and arq's form map onto arq's cron; ticks run once across workers."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from arq.cron import next_cron
from django.core.exceptions import ImproperlyConfigured

from arq_django import enqueue, job
from arq_django.exceptions import CronSpecError
from arq_django.jobs.crontab import CronSchedule, parse
from arq_django.jobs.handlers import to_cron_job
from arq_django.jobs.registry import registry
from arq_django.worker.settings import build, create_worker
from tests.conftest import wait_for

ANY = None


@pytest.fixture
def scratch():
    names: list[str] = []
    yield names
    for name in names:
        registry.remove(name)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("*/5 * * * *", {"minute": frozenset(range(0, 60, 5))}),
        ("0 9-17 * * mon-fri", {"minute": {0}, "hour": set(range(9, 18)), "weekday": {0, 1, 2, 3, 4}}),
        ("30 2 1,15 JAN,jul *", {"minute": {30}, "hour": {2}, "day": {1, 15}, "month": {1, 7}}),
        ("0 0 * * 0", {"minute": {0}, "hour": {0}, "weekday": {6}}),
        ("0 0 * * 7", {"minute": {0}, "hour": {0}, "weekday": {6}}),
        ("0 0 * * sun-sat", {"minute": {0}, "hour": {0}}),
        ("5/15 * * * *", {"minute": {5, 20, 35, 50}}),
        ("0-10/5,59 * * * *", {"minute": {0, 5, 10, 59}}),
        ("@hourly", {"minute": {0}}),
        ("@daily", {"minute": {0}, "hour": {0}}),
        ("@weekly", {"minute": {0}, "hour": {0}, "weekday": {6}}),
        ("@monthly", {"minute": {0}, "hour": {0}, "day": {1}}),
        ("@yearly", {"minute": {0}, "hour": {0}, "day": {1}, "month": {1}}),
    ],
)
def test_crontab_strings_become_arq_sets(spec, expected):
    schedule = parse(spec)
    for field in ("month", "day", "weekday", "hour", "minute"):
        want = expected.get(field)
        assert getattr(schedule, field) == (None if want is None else frozenset(want)), field
    assert schedule.second == {0}


def test_arq_form_is_kept():
    schedule = parse({"minute": {0, 30}, "hour": 9, "weekday": "mon"})
    assert schedule == CronSchedule(
        minute=frozenset({0, 30}), hour=frozenset({9}), weekday=frozenset({0}), source=schedule.source
    )
    assert parse({"second": {0, 30}}).arq_kwargs()["second"] == {0, 30}


def test_mapped_schedule_fires_when_crontab_would():
    # "every 15 minutes from 9 to 10 on Mondays"; 2024-01-01 is a Monday.
    kwargs = parse("*/15 9-10 * * mon").arq_kwargs()
    t = dt.datetime(2024, 1, 1, 8, 0, tzinfo=dt.UTC)
    runs = []
    for _ in range(9):
        t = next_cron(t, **kwargs)
        runs.append(t.strftime("%a %H:%M"))
    assert runs == [
        "Mon 09:00", "Mon 09:15", "Mon 09:30", "Mon 09:45",
        "Mon 10:00", "Mon 10:15", "Mon 10:30", "Mon 10:45",
        "Mon 09:00",
    ]  # fmt: skip
    assert t.date() == dt.date(2024, 1, 8)


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("61 * * * *", "minute field '61': 61 is out of range 0-59"),
        ("* 24 * * *", "hour field"),
        ("* * * 13 *", "month field"),
        ("* * 0 * *", "day-of-month field"),
        ("* * * * 8", "day-of-week field"),
        ("* * * * fun", "day-of-week field 'fun'"),
        ("*/0 * * * *", "step"),
        ("10-5 * * * *", "backwards"),
        ("* * *", "has 3 fields"),
        ("* * 1 * mon", "both day-of-month and day-of-week"),
        ("@reboot", "run_at_startup"),
        ({"minit": 1}, "unknown field"),
        ({"hour": 24}, "hour value 24"),
        ({}, "empty dict"),
        (5, "crontab string"),
    ],
)
def test_invalid_specs_name_the_field(spec, fragment, scratch):
    with pytest.raises(CronSpecError, match=fragment):
        parse(spec)
    with pytest.raises(ImproperlyConfigured) as err:

        @job("cron_bad", cron=spec)
        async def cron_bad(ctx):
            return None

    assert "'cron_bad'" in str(err.value) and fragment in str(err.value)
    with pytest.raises(Exception, match="not registered"):
        registry.get("cron_bad")


def test_cron_job_arguments_come_from_cron_kwargs(scratch):
    with pytest.raises(ImproperlyConfigured, match=r"'cron_args'.*cron_kwargs"):

        @job("cron_args", cron="@daily")
        async def needs_args(ctx, account: int):
            return account

    @job("cron_args", cron="@daily", cron_kwargs={"account": 7})
    async def gets_args(ctx, account: int):
        return account

    scratch.append("cron_args")
    with pytest.raises(ImproperlyConfigured, match="only apply to cron jobs"):
        job("cron_no_schedule", run_at_startup=True)(gets_args)


async def test_to_cron_job_passes_cron_kwargs_and_keeps_results(scratch):
    @job("cron_kw", cron={"minute": {0, 30}}, cron_kwargs={"account": 7}, timeout=12)
    async def handler(ctx, account: int):
        return account * 2

    scratch.append("cron_kw")
    cron_job = to_cron_job(registry.get("cron_kw"))
    assert cron_job.name == "cron_kw" and cron_job.minute == {0, 30} and cron_job.second == {0}
    assert cron_job.timeout_s == 12 and cron_job.keep_result_s is None  # None: the worker's KEEP_RESULT
    assert await cron_job.coroutine({}) == 14


def test_cron_jobs_belong_to_their_queue_and_use_time_zone(settings, redis_url):
    settings.TIME_ZONE = "Europe/Paris"
    options = build("cron-test")
    assert [c.name for c in options["cron_jobs"]] == ["every_second"]
    assert "every_second" not in {f.name for f in options["functions"]}
    assert options["timezone"] == ZoneInfo("Europe/Paris")
    assert options["allow_abort_jobs"] is True
    assert build()["cron_jobs"] == []  # the default queue's workers do not schedule it


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
async def test_run_at_startup_with_cron_kwargs(redis_url, redis_client):
    worker = create_worker("startup-q", burst=True, handle_signals=False, poll_delay=0.05)
    await worker.async_run()
    await worker.close()
    ran = redis_client.lrange("startup:ran", 0, -1)
    assert len(ran) == 1 and ran[0].startswith(b"at_startup:")


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_three_workers_run_each_tick_once(start_worker, redis_client):
    workers = [start_worker(env={"ARQ_QUEUE": "cron-test"}) for _ in range(3)]
    first = len(redis_client.hkeys("cron:ticks"))
    # Ticks while all three are up: every worker enqueues every tick, one runs it.
    wait_for(lambda: len(redis_client.hkeys("cron:ticks")) >= first + 3, timeout=30)
    for worker in workers:
        worker.stop()
    ticks = {k.decode(): int(v) for k, v in redis_client.hgetall("cron:ticks").items()}
    assert len(ticks) >= 3
    assert set(ticks.values()) == {1}, ticks
    assert all(k.startswith("every_second:") for k in ticks)
    # A worker that enqueues a tick late, after another ran it, is refused: the tick's result holds its id.
    assert enqueue("every_second", _job_id=min(ticks), _queue_name="cron-test") is None
    assert any("cron: every_second" in w.output() for w in workers)
