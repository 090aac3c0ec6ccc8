"""Benchmark arq_django against raw arq on a real Redis: enqueue throughput and burst-worker drain time,
each with the result mirror on and off.

Run from the repository root: ``.venv/bin/python -m bench.run [--jobs N] [--only enqueue|drain]``.
Everything happens in the bench's own Redis database (``--db``, default 14), which is FLUSHDB-ed before
and after every measurement; other databases are never touched. The mirror writes to the bench's own
SQLite file (``.run/bench-db.sqlite3``) unless ``DATABASE_URL`` is set.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import django
import redis
from arq import create_pool
from arq.connections import ArqRedis, RedisSettings
from arq.worker import Worker, func
from asgiref.sync import async_to_sync
from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django.test import override_settings

from arq_django import aenqueue, enqueue
from arq_django import worker_settings as arq_django_worker
from arq_django.conf import get_config
from arq_django.connection import aclose_pools, redact_url
from arq_django.serializers import Serializer, get_serializer

from .jobs import COUNTER_KEY, bench_noop

JOB = "bench_noop"
DEFAULT_URL = "redis://127.0.0.1:6379/0"
DEFAULT_DB = 14
DEFAULT_JOBS = 5000
BENCH_DB = Path(__file__).resolve().parent.parent / ".run" / "bench-db.sqlite3"
ASYNC_TO_SYNC_SHARE = 10
"""The async_to_sync variant opens a pool per call, and the mirror variants write a row per call (one
commit each), so they run 1/10 of the jobs to keep the run short."""


class BenchFailed(Exception):
    """A check failed, so the numbers would mean nothing."""


@dataclass(frozen=True)
class Measurement:
    """How long one variant took for a number of jobs."""

    label: str
    jobs: int
    seconds: float
    note: str = ""
    """Context printed under the table row."""

    @property
    def rate(self) -> float:
        return self.jobs / self.seconds


@dataclass(frozen=True)
class Bench:
    """What every measurement needs: the bench database and the configuration under test."""

    url: str = field(repr=False)
    jobs: int
    queue: str
    serializer: Serializer
    poll_delay: float
    """Both drain workers poll with this delay."""
    repeat: int
    """Rounds of every variant; each variant's fastest round is reported."""
    admin: redis.Redis = field(repr=False)
    """A client of its own for FLUSHDB and checks, so they never go through the code being measured."""

    def flush(self) -> None:
        self.admin.flushdb()

    def expect_queued(self, label: str, expected: int) -> None:
        queued = self.admin.zcard(self.queue)
        if queued != expected:
            raise BenchFailed(f"{label}: queue {self.queue!r} holds {queued} jobs, expected {expected}.")

    async def arq_pool(self) -> ArqRedis:
        """A raw arq pool as its docs create one, with the same serializer as arq_django."""
        return await create_pool(
            RedisSettings.from_dsn(self.url),
            job_serializer=self.serializer.dumps,
            job_deserializer=self.serializer.loads,
            default_queue_name=self.queue,
        )


def at_least(minimum: int) -> Callable[[str], int]:
    """An argparse ``type`` accepting whole numbers from ``minimum`` up."""

    def parse(value: str) -> int:
        number = int(value)
        if number < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {number}")
        return number

    return parse


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run", description="Benchmark arq_django against raw arq on a real Redis."
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("REDIS_URL") or DEFAULT_URL,
        help=f"Redis server (default: $REDIS_URL or {DEFAULT_URL}); its database number is replaced by --db",
    )
    parser.add_argument(
        "--db",
        type=at_least(0),
        default=DEFAULT_DB,
        help=f"the Redis database the bench owns and FLUSHDBs (default {DEFAULT_DB})",
    )
    parser.add_argument("--jobs", type=at_least(1), default=DEFAULT_JOBS, help="jobs per measurement")
    parser.add_argument("--only", choices=("enqueue", "drain"), help="run one phase only")
    parser.add_argument(
        "--poll-delay",
        type=float,
        help="drain with this poll_delay for both workers instead of ARQ_DJANGO's (0 shows per-job cost)",
    )
    parser.add_argument(
        "--repeat",
        type=at_least(1),
        default=1,
        help="measure every variant this many times, interleaved, and keep each one's best (noisy machines)",
    )
    return parser.parse_args(argv)


def with_db(url: str, db: int) -> str:
    """``url`` pointing at database ``db``: the path for redis://, ``?db=`` for unix://.

    Both redis-py and arq let a ``?db=`` query win over the path, so an existing one is dropped.
    """
    parts = urlsplit(url)
    query = [(key, value) for key, value in parse_qsl(parts.query) if key != "db"]
    if parts.scheme == "unix":
        return urlunsplit(parts._replace(query=urlencode([*query, ("db", str(db))])))
    return urlunsplit(parts._replace(path=f"/{db}", query=urlencode(query)))


def setup_django(url: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings.test")
    # The worker's "started"/"stopped" lines would interleave with the report.
    os.environ.setdefault("ARQ_DJANGO_LOG_LEVEL", "WARNING")
    os.environ["REDIS_URL"] = url
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{BENCH_DB}")
    BENCH_DB.parent.mkdir(exist_ok=True)
    django.setup()
    call_command("migrate", verbosity=0)
    configured = get_config().redis_url
    if configured != url:
        raise BenchFailed(
            f"{os.environ['DJANGO_SETTINGS_MODULE']} sets ARQ_DJANGO['REDIS_URL'] to "
            f"{redact_url(configured)}, not the bench database {redact_url(url)}; use a settings module "
            "that reads REDIS_URL (settings.test does)."
        )


def prepare(url: str, jobs: int, poll_delay: float | None = None, repeat: int = 1) -> Bench:
    setup_django(url)
    config = get_config()
    admin = redis.Redis.from_url(url)
    try:
        admin.ping()
    except redis.RedisError as e:
        raise BenchFailed(f"cannot reach Redis at {redact_url(url)}: {type(e).__name__}: {e}") from e
    ours = ("arq:", "bench:", config.queue)
    for key in admin.scan_iter(count=1000):
        name = key.decode(errors="replace")
        if not name.startswith(ours):
            raise BenchFailed(
                f"{redact_url(url)} holds {name!r}, which the bench did not write; it FLUSHDBs its "
                "database, so pick an unused one with --db."
            )
    return Bench(
        url=url,
        jobs=jobs,
        queue=config.queue,
        serializer=get_serializer(),
        poll_delay=config.poll_delay if poll_delay is None else poll_delay,
        repeat=repeat,
        admin=admin,
    )


# -- the mirror -------------------------------------------------------------------------------------


@contextlib.contextmanager
def arq_django_settings(**changes: Any) -> Iterator[None]:
    """``ARQ_DJANGO`` with ``changes`` (e.g. ``MIRROR=False``) for one measurement."""
    with override_settings(ARQ_DJANGO={**settings.ARQ_DJANGO, **changes}):
        yield


def clear_rows() -> None:
    from arq_django.models import JobResult

    JobResult.objects.all().delete()


def expect_rows(label: str, status: str, expected: int) -> None:
    from arq_django.models import JobResult

    found = JobResult.objects.filter(status=status).count()
    if found != expected:
        raise BenchFailed(f"{label}: {found} JobResult rows are {status!r}, expected {expected}.")


# -- enqueue ----------------------------------------------------------------------------------------


def enqueue_sync(bench: Bench, n: int) -> float:
    enqueue(JOB, -1)  # opens the pooled connection outside the timed loop
    bench.flush()
    start = time.perf_counter()
    for i in range(n):
        enqueue(JOB, i)
    return time.perf_counter() - start


async def _enqueue_raw(bench: Bench, n: int) -> float:
    pool = await bench.arq_pool()
    try:
        await pool.enqueue_job(JOB, -1)
        bench.flush()
        start = time.perf_counter()
        for i in range(n):
            await pool.enqueue_job(JOB, i)
        return time.perf_counter() - start
    finally:
        await pool.aclose(close_connection_pool=True)


def enqueue_raw(bench: Bench, n: int) -> float:
    return asyncio.run(_enqueue_raw(bench, n))


async def _enqueue_with_own_pool(bench: Bench, i: int) -> None:
    # What a sync Django view calling arq through async_to_sync does: each call runs on a fresh event
    # loop and a pool is bound to its loop, so the pool is created and closed per call.
    pool = await bench.arq_pool()
    try:
        await pool.enqueue_job(JOB, i)
    finally:
        await pool.aclose(close_connection_pool=True)


def enqueue_async_to_sync(bench: Bench, n: int) -> float:
    call = async_to_sync(_enqueue_with_own_pool)
    call(bench, -1)  # starts asgiref's loop thread outside the timed loop
    bench.flush()
    start = time.perf_counter()
    for i in range(n):
        call(bench, i)
    return time.perf_counter() - start


async def _enqueue_async(bench: Bench, n: int) -> float:
    try:
        await aenqueue(JOB, -1)
        bench.flush()
        start = time.perf_counter()
        for i in range(n):
            await aenqueue(JOB, i)
        return time.perf_counter() - start
    finally:
        await aclose_pools()


def enqueue_async(bench: Bench, n: int) -> float:
    return asyncio.run(_enqueue_async(bench, n))


def measure_enqueue(
    bench: Bench, label: str, n: int, run: Callable[[Bench, int], float], mirror: bool
) -> Measurement:
    bench.flush()
    clear_rows()
    try:
        with arq_django_settings(MIRROR_ON_ENQUEUE=mirror):
            seconds = run(bench, n)
        bench.expect_queued(label, n)
        if mirror and run in (enqueue_sync, enqueue_async):
            expect_rows(label, "queued", n + 1)  # and the warm-up job's
    finally:
        bench.flush()
        clear_rows()
    return Measurement(label, n, seconds)


def enqueue_phase(bench: Bench) -> dict[str, Measurement]:
    n = bench.jobs
    share = max(n // ASYNC_TO_SYNC_SHARE, 1)
    variants: list[tuple[str, str, int, Callable[[Bench, int], float], bool]] = [
        ("enqueue", "arq_django enqueue() sync", n, enqueue_sync, False),
        ("enqueue_mirror", "enqueue() sync + mirror row", share, enqueue_sync, True),
        ("raw", "arq pool.enqueue_job()", n, enqueue_raw, False),
        (
            "async_to_sync",
            "async_to_sync(pool per call)",
            share,
            enqueue_async_to_sync,
            False,
        ),
        ("aenqueue", "arq_django aenqueue()", n, enqueue_async, False),
        ("aenqueue_mirror", "aenqueue() + mirror row", share, enqueue_async, True),
    ]
    results: dict[str, Measurement] = {}
    for _ in range(bench.repeat):
        for key, label, jobs, run, mirror in variants:
            results[key] = fastest(results.get(key), measure_enqueue(bench, label, jobs, run, mirror))
    report("ENQUEUE", list(results.values()))
    return results


# -- drain ------------------------------------------------------------------------------------------


def arq_django_worker_for(bench: Bench) -> Worker:
    return arq_django_worker.create_worker(burst=True, handle_signals=False, poll_delay=bench.poll_delay)


def raw_worker_for(bench: Bench) -> Worker:
    config = get_config()
    return Worker(
        functions=[func(bench_noop, name=JOB)],
        queue_name=bench.queue,
        redis_settings=RedisSettings.from_dsn(bench.url),
        burst=True,
        handle_signals=False,
        job_serializer=bench.serializer.dumps,
        job_deserializer=bench.serializer.loads,
        max_jobs=config.max_jobs,
        poll_delay=bench.poll_delay,
        keep_result=config.keep_result,
        job_timeout=config.job_timeout,
        max_tries=config.max_tries,
    )


async def _drain(bench: Bench, make_worker: Callable[[Bench], Worker]) -> tuple[float, Worker]:
    worker = make_worker(bench)  # inside the loop: arq's Worker binds the running loop when created
    closed = False
    try:
        start = time.perf_counter()
        await worker.async_run()
        await worker.close()  # timed: it runs the mirror's last flush
        closed = True
        return time.perf_counter() - start, worker
    finally:
        if not closed:
            await worker.close()


def measure_drain(
    bench: Bench, label: str, make_worker: Callable[[Bench], Worker], mirror: bool = False
) -> Measurement:
    n = bench.jobs
    bench.flush()
    clear_rows()
    try:
        with arq_django_settings(MIRROR=mirror):
            with transaction.atomic():  # one commit for the queued rows: set-up, not measured
                for i in range(n):
                    enqueue(JOB, i)
            bench.expect_queued(f"{label} before draining", n)
            seconds, worker = asyncio.run(_drain(bench, make_worker))
        if mirror:
            expect_rows(label, "complete", n)
        if worker.jobs_complete != n or worker.jobs_failed or worker.jobs_retried:
            raise BenchFailed(
                f"{label}: {worker.jobs_complete} jobs complete, {worker.jobs_failed} failed, "
                f"{worker.jobs_retried} retried; expected {n} complete."
            )
        ran = int(cast(bytes | None, bench.admin.get(COUNTER_KEY)) or 0)
        if ran != n:
            raise BenchFailed(
                f"{label}: {COUNTER_KEY!r} is {ran}, expected {n}: jobs ran twice or not at all."
            )
        bench.expect_queued(f"{label} after draining", 0)
    finally:
        bench.flush()
        clear_rows()
    # arq reads at most queue_read_limit ids per poll, then sleeps out poll_delay: that caps any drain.
    note = ""
    if worker.poll_delay_s:
        note = f"arq's poll ceiling: {worker.queue_read_limit / worker.poll_delay_s:.0f} jobs/s"
    return Measurement(label, n, seconds, note=note)


def drain_phase(bench: Bench) -> dict[str, Measurement]:
    variants: list[tuple[str, str, Callable[[Bench], Worker], bool]] = [
        ("django_worker", "arq_django worker", arq_django_worker_for, False),
        ("django_worker_mirror", "arq_django worker + mirror", arq_django_worker_for, True),
        ("raw_worker", "raw arq worker", raw_worker_for, False),
    ]
    results: dict[str, Measurement] = {}
    for _ in range(bench.repeat):
        for key, label, make_worker, mirror in variants:
            results[key] = fastest(results.get(key), measure_drain(bench, label, make_worker, mirror))
    report("DRAIN (burst worker, pre-queued jobs)", list(results.values()))
    return results


# -- report -----------------------------------------------------------------------------------------


def fastest(best: Measurement | None, new: Measurement) -> Measurement:
    return new if best is None or new.seconds < best.seconds else best


RATIOS = [
    ("enqueue() / raw arq", "enqueue", "raw"),
    ("enqueue() / async_to_sync", "enqueue", "async_to_sync"),
    ("aenqueue() / raw arq", "aenqueue", "raw"),
    ("enqueue()+mirror / enqueue()", "enqueue_mirror", "enqueue"),
    ("aenqueue()+mirror / aenqueue()", "aenqueue_mirror", "aenqueue"),
    ("drain arq_django / raw arq", "django_worker", "raw_worker"),
    ("drain mirror on / mirror off", "django_worker_mirror", "django_worker"),
]


def report(title: str, rows: list[Measurement]) -> None:
    print(title)
    print(f"  {'':32} {'jobs':>7} {'seconds':>9} {'jobs/s':>10}")
    for row in rows:
        print(f"  {row.label:32} {row.jobs:>7} {row.seconds:>9.3f} {row.rate:>10.0f}")
        if row.note:
            print(f"    ({row.note})")
    print(flush=True)


def report_ratios(results: dict[str, Measurement]) -> None:
    print("RATIOS")
    for label, first, second in RATIOS:
        if first in results and second in results:
            print(f"  {label:32} {results[first].rate / results[second].rate:.2f}")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    url = with_db(args.redis_url, args.db)
    try:
        bench = prepare(url, args.jobs, args.poll_delay, args.repeat)
        config = get_config()
        print(
            f"arq_django bench: {bench.jobs} jobs, Redis {redact_url(url)}, "
            f"serializer {bench.serializer.name!r}"
        )
        print(
            f"max_jobs={config.max_jobs}, poll_delay={bench.poll_delay}s, keep_result={config.keep_result}s, "
            f"best of {bench.repeat}"
        )
        print(f"arq {version('arq')}, Django {django.get_version()}, Python {sys.version.split()[0]}")
        print(f"mirror database: {connection.vendor} {connection.settings_dict['NAME']}\n")
        results: dict[str, Measurement] = {}
        started = time.perf_counter()
        if args.only in (None, "enqueue"):
            results |= enqueue_phase(bench)
        if args.only in (None, "drain"):
            results |= drain_phase(bench)
    except BenchFailed as e:
        print(f"FAILED: {e}", file=sys.stderr)
        return 1
    print(f"total {time.perf_counter() - started:.1f}s")
    print("ratios are jobs/s over jobs/s: above 1 means the first is faster\n")
    report_ratios(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
