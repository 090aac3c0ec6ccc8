"""Write a batch of row updates in one transaction, so that no row ever goes backwards.

``INSERT ... ON CONFLICT (job_id) DO UPDATE ... WHERE excluded.rank >= stored.rank`` (PostgreSQL and
SQLite ≥ 3.24 share the syntax): the rank comparison happens inside the database, row by row and
atomically, so concurrent writers (several workers, reconcile, a late flush) cannot reopen a finished
row, with no read before the write and no row locks held across statements. Django's
``bulk_create(update_conflicts=True)`` cannot express the ``WHERE``, hence raw SQL here. Unknown values
(``NULL``, or ``''`` for text) keep what is stored (``COALESCE``).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final

from django.conf import settings
from django.db import NotSupportedError, connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field

from ..models import JobResult
from ..serializers import to_json_data
from .rows import TEXT_FIELDS, RowUpdate

COLUMNS: Final = (*RowUpdate._fields, "rank")
"""The values sent for each row, in this order: the update's own, then its rank."""
_ALWAYS: Final = frozenset({"status", "rank", "tries"})
SUPPORTED_VENDORS: Final = ("postgresql", "sqlite")


def _fields() -> list[Field[Any, Any]]:
    return [JobResult._meta.get_field(name) for name in COLUMNS]  # type: ignore[misc]


@functools.cache
def _positions(internal_type: str) -> tuple[int, ...]:
    """Where in :data:`COLUMNS` the fields of one kind (``JSONField``, ``DateTimeField``) stand."""
    return tuple(i for i, field in enumerate(_fields()) if field.get_internal_type() == internal_type)


def _set_clause(name: str, column: str, table: str) -> str:
    new, old = f"EXCLUDED.{column}", f"{table}.{column}"
    if name in _ALWAYS:
        return f"{column} = {new}"
    known = f"NULLIF({new}, '')" if name in TEXT_FIELDS else new
    if name == "finished_at":
        # A new try has started: the previous try's finish time no longer describes the row.
        started = f"EXCLUDED.{_q('status')} = 'in_progress'"
        return f"{column} = CASE WHEN {started} THEN NULL ELSE COALESCE({new}, {old}) END"
    return f"{column} = COALESCE({known}, {old})"


def _q(name: str) -> str:
    return f'"{name}"'  # the columns are plain lowercase names; both backends quote with "


def _upsert_sql(table: str, select: str) -> str:
    """``INSERT`` the rows ``select`` yields (in :data:`COLUMNS` order); a stored row is updated only by
    a write of at least its rank."""
    table = _q(table)
    sets = ", ".join(_set_clause(name, _q(name), table) for name in COLUMNS if name != "job_id")
    rank = _q("rank")
    return (
        f"INSERT INTO {table} ({', '.join(_q(name) for name in COLUMNS)}) {select} "
        f"ON CONFLICT ({_q('job_id')}) DO UPDATE SET {sets} WHERE EXCLUDED.{rank} >= {table}.{rank}"
    )


# -- PostgreSQL: the whole batch as one JSON array of arrays ------------------------------------------


@functools.cache
def _postgresql_sql(table: str, types: tuple[str, ...]) -> str:
    """One statement for the server to plan, one ``json.dumps`` (C) on our side instead of adapting
    every value in Python while the worker's event loop waits for the GIL. Times travel as epoch
    seconds; an unknown JSON value arrives as JSON ``null`` and becomes SQL ``NULL`` (keep the stored)."""
    json_at, time_at = _positions("JSONField"), _positions("DateTimeField")
    values = []
    for i, db_type in enumerate(types):
        if i in json_at:
            values.append(f"NULLIF(e->{i}, 'null'::jsonb)")
        elif i in time_at:
            values.append(f"to_timestamp((e->>{i})::float8)")
        else:
            values.append(f"(e->>{i})::{db_type}")
    return _upsert_sql(table, f"SELECT {', '.join(values)} FROM jsonb_array_elements(%s::jsonb) AS e")


def _postgresql_batch(rows: Sequence[RowUpdate]) -> str:
    json_at, time_at = _positions("JSONField"), _positions("DateTimeField")
    batch = []
    for row in rows:
        values = [*row, row.rank]
        for i in json_at:
            if values[i] is not None:
                values[i] = to_json_data(values[i])
        for i in time_at:
            if values[i] is not None:
                values[i] = values[i].timestamp()
        batch.append(values)
    return json.dumps(batch, separators=(",", ":"))


def _column_types(connection: BaseDatabaseWrapper) -> tuple[str, ...]:
    """Each column's PostgreSQL type without length (``varchar(255)`` → ``varchar``), for the casts."""
    return tuple(str(field.db_type(connection)).split("(")[0] for field in _fields())


# -- SQLite: multi-row VALUES --------------------------------------------------------------------------


@functools.cache
def _sqlite_sql(table: str, rows: int) -> str:
    row = "(" + ", ".join(["%s"] * len(COLUMNS)) + ")"
    return _upsert_sql(table, f"VALUES {', '.join([row] * rows)}")


def _sqlite_time(connection: BaseDatabaseWrapper) -> Callable[[dt.datetime], str]:
    """What SQLite's ``adapt_datetimefield_value`` makes of a datetime, at a fraction of the cost."""
    ops = connection.ops
    naive_in = connection.timezone if settings.USE_TZ else None

    def convert(value: dt.datetime) -> str:
        if naive_in is not None and value.tzinfo is not None:
            if value.tzinfo is not naive_in:
                value = value.astimezone(naive_in)
            return str(value.replace(tzinfo=None))
        return str(ops.adapt_datetimefield_value(value))

    return convert


def _sqlite_params(rows: Sequence[RowUpdate], time: Callable[[dt.datetime], str]) -> list[Any]:
    json_at, time_at = _positions("JSONField"), _positions("DateTimeField")
    params: list[Any] = []
    for row in rows:
        values = [*row, row.rank]
        for i in json_at:
            if values[i] is not None:
                values[i] = json.dumps(to_json_data(values[i]))  # what JSONField's get_db_prep_value does
        for i in time_at:
            if values[i] is not None:
                values[i] = time(values[i])
        params.extend(values)
    return params


def database_for_writes() -> str:
    return router.db_for_write(JobResult) or "default"


def check_vendor(connection: BaseDatabaseWrapper) -> None:
    if connection.vendor not in SUPPORTED_VENDORS:
        raise NotSupportedError(
            f"the arq_django result mirror writes with INSERT ... ON CONFLICT, which it supports on "
            f"PostgreSQL and SQLite, not on {connection.vendor!r}; set ARQ_DJANGO['MIRROR'] = False."
        )


def upsert(updates: Iterable[RowUpdate], using: str | None = None) -> int:
    """Write ``updates`` (at most one per job id) in one transaction; returns how many were sent.

    Raises the database's error unchanged; nothing of the batch is written then.
    """
    # A fixed order: two transactions writing overlapping rows lock them in the same order (no deadlock).
    rows = sorted(updates, key=lambda row: row.job_id)
    if not rows:
        return 0
    alias = using or database_for_writes()
    connection = connections[alias]
    check_vendor(connection)
    table = JobResult._meta.db_table
    with transaction.atomic(using=alias, savepoint=False), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_postgresql_sql(table, _column_types(connection)), [_postgresql_batch(rows)])
            return len(rows)
        # SQLite: multi-row statements, so the GIL changes hands once per statement, not once per row.
        time = _sqlite_time(connection)
        size = max(1, connection.ops.bulk_batch_size(_fields(), rows))
        for start in range(0, len(rows), size):
            chunk = rows[start : start + size]
            cursor.execute(_sqlite_sql(table, len(chunk)), _sqlite_params(chunk, time))
    return len(rows)
