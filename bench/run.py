"""Benchmark arq_django against raw arq on a real Redis: enqueue throughput, then the workers (drain rate,
enqueue → start latency, idle Redis commands, peak RSS; our worker's drain also with the result mirror
on; see ``bench.workers``).

Run from the repository root: ``.venv/bin/python -m bench.run [--jobs N] [--only enqueue|workers]``.
Everything happens in the bench's own Redis database (``--db``, default 14), which is FLUSHDB-ed before
and after every measurement; other databases are never touched. The mirror writes to the bench's own
SQLite file (``.run/bench.sqlite3``) unless ``DATABASE_URL`` is set.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import django
import redis
from arq import create_pool
from arq.connections import ArqRedis, RedisSettings
from asgiref.sync import async_to_sync
from django.conf import settings

from arq_django import aenqueue, enqueue
from arq_django.conf import get_config
from arq_django.connection import aclose_pools, redact_url
from arq_django.serializers import Serializer, get_serializer
from bench import database, workers
from bench.jobs import NOOP

JOB = NOOP
DEFAULT_URL = "redis://127.0.0.1:6379/0"
DEFAULT_DB = 14
DEFAULT_JOBS = 5000
BENCH_DATABASE = Path(__file__).resolve().parent.parent / ".run" / "bench.sqlite3"
"""The mirror's database unless ``DATABASE_URL`` is set: never the test suite's."""
ENQUEUE_ROUNDS = 3
ASYNC_TO_SYNC_SHARE = 10
"""The async_to_sync variant opens a pool per call, so it runs 1/10 of the jobs to keep the run short."""


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
    parser.add_argument("--only", choices=("enqueue", "workers"), help="run one phase only")
    parser.add_argument(
        "--repeat",
        type=at_least(1),
        default=9,
        help=(
            "rounds of drains of our worker (mirror off and on) and of tuned arq; the best run counts, "
            "and for the mirror the median of the rounds' on / off ratios (default 9)"
        ),
    )
    parser.add_argument(
        "--control",
        action="store_true",
        help="drain the mirror-off worker once more per round and print its ratio to itself (noise)",
    )
    parser.add_argument(
        "--latency-jobs", type=at_least(1), default=50, help="single jobs timed per worker (default 50)"
    )
    parser.add_argument(
        "--idle-seconds", type=float, default=5.0, help="how long idle commands are counted (default 5)"
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


def setup_django(url: str, *, mirror: bool = False, defaults: bool = False) -> None:
    """Set Django up on the bench's Redis database and SQL database, with the result mirror on or off.

    Unless ``defaults`` (the mirror on and writing its row at enqueue, as a project runs without
    settings), no process writes rows at enqueue (``MIRROR_ON_ENQUEUE`` off): enqueue figures are
    Redis only, and with the mirror on the worker creates every row when the job starts.
    """
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings.test")
    # The worker's "started"/"stopped" lines would interleave with the report.
    os.environ.setdefault("ARQ_DJANGO_LOG_LEVEL", "WARNING")
    os.environ["REDIS_URL"] = url
    if "DATABASE_URL" not in os.environ:  # inherited by the worker processes
        BENCH_DATABASE.parent.mkdir(exist_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{BENCH_DATABASE}"
    # Before setup, so that nothing has read (and cached) the configuration yet.
    configured = getattr(settings, "ARQ_DJANGO", None) or {}
    switches = (
        {"MIRROR": True, "MIRROR_ON_ENQUEUE": True}
        if defaults
        else {"MIRROR": mirror, "MIRROR_ON_ENQUEUE": False}
    )
    settings.ARQ_DJANGO = {**configured, **switches}
    django.setup()
    redis_url = get_config().redis_url
    if redis_url != url:
        raise BenchFailed(
            f"{os.environ['DJANGO_SETTINGS_MODULE']} sets ARQ_DJANGO['REDIS_URL'] to "
            f"{redact_url(redis_url)}, not the bench database {redact_url(url)}; use a settings module "
            "that reads REDIS_URL (settings.test does)."
        )


def prepare(url: str, jobs: int) -> Bench:
    setup_django(url)
    config = get_config()
    admin = redis.Redis.from_url(url)
    try:
        admin.ping()
    except redis.RedisError as e:
        raise BenchFailed(f"cannot reach Redis at {redact_url(url)}: {type(e).__name__}: {e}") from e
    ours = ("arq:", "arq_django:", "bench:", config.queue)
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
        admin=admin,
    )


# -- enqueue ----------------------------------------------------------------------------------------


def enqueue_sync(bench: Bench, n: int) -> float:
    enqueue(JOB, -1)  # opens the pooled connection outside the timed loop
    bench.flush()
    start = time.perf_counter()
    for i in range(n):
        enqueue(JOB, i)
    return time.perf_counter() - start


def enqueue_task(bench: Bench, n: int) -> float:
    from . import tasks  # Django's Tasks framework loads once settings are set up

    tasks.enqueue_all(1)
    bench.flush()
    start = time.perf_counter()
    tasks.enqueue_all(n)
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


def measure_enqueue(bench: Bench, label: str, n: int, run: Callable[[Bench, int], float]) -> Measurement:
    bench.flush()
    try:
        seconds = run(bench, n)
        bench.expect_queued(label, n)
    finally:
        bench.flush()
    return Measurement(label, n, seconds)


def enqueue_phase(bench: Bench) -> dict[str, Measurement]:
    n = bench.jobs
    variants: list[tuple[str, str, int, Callable[[Bench, int], float]]] = [
        ("enqueue", "arq_django enqueue() sync", n, enqueue_sync),
        ("raw", "arq pool.enqueue_job()", n, enqueue_raw),
        (
            "async_to_sync",
            "async_to_sync(pool per call)",
            max(n // ASYNC_TO_SYNC_SHARE, 1),
            enqueue_async_to_sync,
        ),
        ("aenqueue", "arq_django aenqueue()", n, enqueue_async),
        ("task", "task.enqueue() via ArqBackend", n, enqueue_task),
    ]
    # Interleaved rounds, the best of each variant counting, as for the drains: one pass of each
    # variant puts their ratios at the mercy of a few slow seconds of the machine.
    results: dict[str, Measurement] = {}
    for _ in range(ENQUEUE_ROUNDS):
        for key, label, jobs, run in variants:
            measured = measure_enqueue(bench, label, jobs, run)
            if key not in results or measured.rate > results[key].rate:
                results[key] = measured
    report(
        f"ENQUEUE (best of {ENQUEUE_ROUNDS} interleaved rounds; the result mirror off, not the default: "
        "make bench-peers times enqueue() at the defaults)",
        list(results.values()),
    )
    return results


# -- report -----------------------------------------------------------------------------------------

RATIOS = [
    ("enqueue() / raw arq", "enqueue", "raw"),
    ("enqueue() / async_to_sync", "enqueue", "async_to_sync"),
    ("aenqueue() / raw arq", "aenqueue", "raw"),
    ("task.enqueue() / enqueue()", "task", "enqueue"),
]


def report(title: str, rows: list[Measurement]) -> None:
    print(title)
    print(f"  {'':32} {'jobs':>7} {'seconds':>9} {'jobs/s':>10}")
    for row in rows:
        print(f"  {row.label:32} {row.jobs:>7} {row.seconds:>9.3f} {row.rate:>10.0f}")
        if row.note:
            print(f"    ({row.note})")
    print(flush=True)


def report_ratios(results: dict[str, Measurement], figures: workers.Figures | None) -> bool:
    """Print the RATIOS block; ``False`` when a worker target is missed."""
    print("RATIOS")
    for label, first, second in RATIOS:
        if first in results and second in results:
            print(f"  {label:38} {results[first].rate / results[second].rate:8.2f}")
    if figures is None:
        return True
    met = True
    for label, value, target, ok in workers.targets(figures):
        print(f"  {label:38} {value:8.2f}   target {target:6} {'met' if ok else 'MISSED'}")
        met &= ok
    return met


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    url = with_db(args.redis_url, args.db)
    try:
        bench = prepare(url, args.jobs)
        config = get_config()
        print(
            f"arq_django bench: {bench.jobs} jobs, Redis {redact_url(url)}, "
            f"serializer {bench.serializer.name!r}"
        )
        print(
            f"max_jobs={config.max_jobs}, poll_delay={config.poll_delay}s, keep_result={config.keep_result}s"
        )
        print(f"arq {version('arq')}, Django {django.get_version()}, Python {sys.version.split()[0]}")
        started = time.perf_counter()
        run_workers = args.only in (None, "workers")
        if run_workers:
            database.prepare()
            print(
                f"result mirror: {database.describe()}, flush every {config.mirror_flush_interval}s "
                f"or {config.mirror_batch_size} updates"
            )
        print()
        results: dict[str, Measurement] = {}
        figures: workers.Figures | None = None
        if args.only in (None, "enqueue"):
            results |= enqueue_phase(bench)
        if run_workers:
            figures = workers.run_phases(
                url, bench.admin, bench.jobs, args.repeat, args.latency_jobs, args.idle_seconds, args.control
            )
            workers.report(figures, bench.jobs, args.latency_jobs, args.idle_seconds)
    except (BenchFailed, workers.WorkerFailed, database.DatabaseUnusable) as e:
        print(f"FAILED: {e}", file=sys.stderr)
        return 1
    print(f"total {time.perf_counter() - started:.1f}s")
    print("enqueue ratios are jobs/s over jobs/s: above 1 means the first is faster\n")
    return 0 if report_ratios(results, figures) else 2


if __name__ == "__main__":
    sys.exit(main())
