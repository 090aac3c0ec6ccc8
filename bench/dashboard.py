"""The jobs dashboard on a big mirror: seed ``JobResult`` rows in PostgreSQL, time the page's queries.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/arq_dashboard_bench \\
        .venv/bin/python -m bench.dashboard --rows 1000000

Seeds with one ``INSERT ... SELECT generate_series`` (seconds, not minutes), spread over a week so that
the last hour holds ~6 000 finished rows and the last day ~140 000, then times each query of
:mod:`arq_django.dashboard.mirror` and the whole page (the view, Redis reads and template included),
the median of ``--repeat`` runs. ``--compare`` also times them without migration 0002's indexes.
The database is created when missing, and must hold no rows but the bench's own.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import django

SEED_PREFIX = "dash-"
NEW_INDEXES = ("arq_jobresult_status_finished", "arq_jobresult_finished_cover")
SEED_SQL = """
INSERT INTO {table} (job_id, function, queue_name, status, rank, args, kwargs, error, traceback, tries,
                     enqueued_at, started_at, finished_at, worker, progress_message)
SELECT %(prefix)s || g,
       'app.jobs.task_' || (g %% 20),
       CASE WHEN g %% 5 = 0 THEN 'mail' ELSE 'arq:queue' END,
       s.status,
       CASE WHEN s.status IN ('complete', 'failed', 'aborted') THEN 2147483647 ELSE 4 END,
       '[1, 2]'::jsonb, '{{}}'::jsonb,
       CASE WHEN s.status = 'failed' THEN 'ValueError: seeded failure ' || g ELSE '' END,
       CASE WHEN s.status = 'failed'
            THEN E'Traceback (most recent call last):\\n  File "jobs.py"\\nValueError' ELSE '' END,
       CASE WHEN g %% 19 = 0 THEN 3 ELSE 1 END,
       s.at - interval '2 seconds', s.at - (g %% 1000) * interval '1 millisecond',
       CASE WHEN s.status IN ('complete', 'failed', 'aborted') THEN s.at END,
       'bench:1', ''
FROM generate_series(1, %(rows)s) AS g,
LATERAL (SELECT %(now)s - (g::float8 / %(rows)s) * interval '7 days' AS at,
                CASE WHEN g %% 25 = 0 THEN 'failed' WHEN g %% 101 = 0 THEN 'aborted'
                     WHEN g < 50 THEN 'in_progress' ELSE 'complete' END AS status) AS s
"""


def setup() -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("bench.dashboard measures PostgreSQL: set DATABASE_URL=postgres://.../<database>")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings.test")
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
    django.setup()


def ensure_database() -> None:
    import psycopg
    from django.db import connection

    s = connection.settings_dict
    dsn = f"host={s['HOST'] or '127.0.0.1'} port={s['PORT'] or 5432} user={s['USER']} dbname=postgres"
    with psycopg.connect(dsn, autocommit=True, password=s["PASSWORD"] or None) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [s["NAME"]]).fetchone():
            admin.execute(f'CREATE DATABASE "{s["NAME"]}"')


def seed(rows: int) -> None:
    from django.core.management import call_command
    from django.db import connection

    from arq_django.models import JobResult

    call_command("migrate", "--noinput", verbosity=0)
    others = JobResult.objects.exclude(job_id__startswith=SEED_PREFIX)
    if others.exists():
        raise SystemExit(
            f"{connection.settings_dict['NAME']} holds rows the bench did not write; use an own database"
        )
    if JobResult.objects.count() == rows:
        print(f"{rows} rows already seeded")
        return
    table = connection.ops.quote_name(JobResult._meta.db_table)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {table} RESTART IDENTITY")
        cursor.execute(
            SEED_SQL.format(table=table), {"prefix": SEED_PREFIX, "rows": rows, "now": datetime.now(UTC)}
        )
    with connection.cursor() as cursor:  # outside a transaction; autovacuum does this on a live table
        cursor.execute(f"VACUUM ANALYZE {table}")  # the visibility map lets index-only scans skip the heap
    print(f"seeded {rows} rows in {time.perf_counter() - started:.1f} s")


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float]:
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - started) * 1000)
    return statistics.median(runs), max(runs)


def page() -> Callable[[], Any]:
    """The dashboard view as the admin serves it, for a superuser, without HTTP."""
    from django.contrib import admin
    from django.contrib.auth.models import User
    from django.test import RequestFactory

    from arq_django.dashboard import views
    from arq_django.models import JobResult

    user = User(username="bench", is_staff=True, is_superuser=True, is_active=True)

    def render() -> None:
        request = RequestFactory().get("/admin/arq_django/jobsdashboard/")
        request.user = user
        response = views.dashboard(request, admin.site._registry[JobResult])
        response.render()  # type: ignore[attr-defined]

    return render


def measure(repeat: int) -> dict[str, tuple[float, float]]:
    from arq_django.dashboard import mirror

    now = datetime.now(UTC)
    queries: dict[str, Callable[[], Any]] = {
        "throughput, 1 h by minute": lambda: mirror.throughput(now, 3600, 60),
        "throughput, 24 h by hour": lambda: mirror.throughput(now, 86400, 3600),
        "durations p50/p95, 1 h": lambda: mirror.durations(now - timedelta(hours=1)),
        "latest failures": mirror.latest_failures,
        "running jobs": mirror.running,
        "the whole page (view + Redis + template)": page(),
    }
    for fn in queries.values():
        fn()  # warm the cache, as a page that refreshes every few seconds finds it
    return {name: timed(fn, repeat) for name, fn in queries.items()}


def drop_new_indexes() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for name in NEW_INDEXES:
            cursor.execute(f"DROP INDEX IF EXISTS {name}")


def restore_indexes() -> None:
    from django.db import connection

    from arq_django.models import JobResult

    with connection.schema_editor() as editor:
        for index in JobResult._meta.indexes:
            if index.name in NEW_INDEXES:
                editor.add_index(JobResult, index)


def report(title: str, figures: dict[str, tuple[float, float]]) -> None:
    print(f"\n{title}")
    for name, (median, worst) in figures.items():
        print(f"  {name:<44} median {median:7.1f} ms   max {worst:7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--compare", action="store_true", help="also time without 0002's indexes")
    args = parser.parse_args()
    setup()
    ensure_database()
    seed(args.rows)
    report(f"with migration 0002's indexes, {args.rows} rows", measure(args.repeat))
    if args.compare:
        drop_new_indexes()
        try:
            report(f"without them, {args.rows} rows", measure(args.repeat))
        finally:
            restore_indexes()


if __name__ == "__main__":
    main()
