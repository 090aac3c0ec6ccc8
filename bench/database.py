"""The SQL database the mirror-on worker writes its ``JobResult`` rows to: schema, guard, counts, cleanup.

It is ``DATABASES`` of the bench's settings: the bench's own SQLite file unless ``DATABASE_URL`` is set
(see ``bench.run.setup_django``). arq_django's models load only once Django is set up, and this module
is imported before that, hence the imports inside the functions.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, NotSupportedError, connections
from django.db.models import Count

from bench.jobs import NOOP, STAMP

if TYPE_CHECKING:
    from arq_django.models import JobResultQuerySet

BENCH_FUNCTIONS = (NOOP, STAMP)


class DatabaseUnusable(Exception):
    """The bench cannot use the configured database for the mirror-on worker."""


def _alias() -> str:
    from arq_django.mirror.writer import database_for_writes

    return database_for_writes()


def _rows() -> JobResultQuerySet:
    from arq_django.models import JobResult

    return JobResult.objects.using(_alias()).filter(function__in=BENCH_FUNCTIONS)


def describe() -> str:
    """Vendor and name of the database the mirror writes to (no user or password)."""
    connection = connections[_alias()]
    host, port = connection.settings_dict.get("HOST"), connection.settings_dict.get("PORT")
    at = f" at {host}{f':{port}' if port else ''}" if host else ""
    return f"{connection.vendor} {connection.settings_dict['NAME']}{at}"


def prepare() -> None:
    """Apply the migrations, and refuse a database holding rows the bench did not write: it deletes
    its jobs' rows around every mirror-on drain."""
    from arq_django.mirror.writer import check_vendor
    from arq_django.models import JobResult

    alias = _alias()
    try:
        check_vendor(connections[alias])
        call_command("migrate", database=alias, interactive=False, verbosity=0)
        foreign = JobResult.objects.using(alias).exclude(function__in=BENCH_FUNCTIONS).count()
    except (DatabaseError, NotSupportedError, CommandError) as e:
        message = str(e).strip().splitlines()[0] if str(e).strip() else ""
        raise DatabaseUnusable(
            f"cannot use the database {describe()} for the mirror-on worker ({type(e).__name__}: "
            f"{message}); create it, or point DATABASE_URL at one the bench may migrate."
        ) from e
    if foreign:
        raise DatabaseUnusable(
            f"the database {describe()} holds {foreign} JobResult rows the bench did not write; give the "
            "bench a database of its own (DATABASE_URL; by default it uses .run/bench.sqlite3)."
        )


def clear_rows() -> None:
    """Delete the rows of the bench's jobs. On PostgreSQL, VACUUM the table too: every round deletes
    thousands of rows, and their dead tuples (left for autovacuum, which may be off or not yet
    due) slowed each later round's inserts, so that mirror-on drains got slower round by round."""
    from arq_django.models import JobResult

    _rows().delete()
    connection = connections[_alias()]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # autocommit: VACUUM cannot run inside a transaction
            cursor.execute(f"VACUUM {connection.ops.quote_name(JobResult._meta.db_table)}")


def status_counts(function: str) -> dict[str, int]:
    """How many of ``function``'s rows are in each status."""
    # order_by(): the model's default ordering would split the groups.
    rows = _rows().filter(function=function).order_by().values_list("status").annotate(rows=Count("pk"))
    return dict(rows)


def wait_for_complete(function: str, expected: int, timeout: float = 10.0) -> dict[str, int]:
    """Poll until ``function`` has exactly ``expected`` rows, all ``complete``, or ``timeout`` seconds
    pass; returns the last counts, for the caller to judge."""
    deadline = time.monotonic() + timeout
    while True:
        counts = status_counts(function)
        if counts == {"complete": expected} or time.monotonic() > deadline:
            return counts
        time.sleep(0.1)
