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
import operator
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final

from django.conf import settings
from django.db import NotSupportedError, connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field

from ..models import JobResult
from ..serializers import to_json_data
from .rows import TEXT_FIELDS, RowUpdate

COLUMNS: Final = (
    "job_id",
    "function",
    "queue_name",
    "status",
    "rank",
    "args",
    "kwargs",
    "result",
    "error",
    "traceback",
    "tries",
    "max_tries",
    "enqueued_at",
    "scheduled_for",
    "started_at",
    "finished_at",
    "worker",
    "progress",
    "progress_message",
)
_ALWAYS: Final = frozenset({"status", "rank", "tries"})
SUPPORTED_VENDORS: Final = ("postgresql", "sqlite")


def _fields() -> list[Field[Any, Any]]:
    return [JobResult._meta.get_field(name) for name in COLUMNS]  # type: ignore[misc]


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


@functools.cache
def _sql(table: str, rows: int) -> str:
    table = _q(table)
    columns = [_q(name) for name in COLUMNS]
    row = "(" + ", ".join(["%s"] * len(COLUMNS)) + ")"
    sets = ", ".join(
        _set_clause(name, column, table)
        for name, column in zip(COLUMNS, columns, strict=True)
        if name != "job_id"
    )
    rank = _q("rank")
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([row] * rows)} "
        f"ON CONFLICT ({_q('job_id')}) DO UPDATE SET {sets} WHERE EXCLUDED.{rank} >= {table}.{rank}"
    )


@functools.cache
def _sql_json(table: str, types: tuple[str, ...]) -> str:
    """PostgreSQL: the whole batch as one JSON document expanded by ``jsonb_to_recordset``. One
    statement for the server to plan, one ``json.dumps`` (C) on our side instead of adapting every
    value in Python while the worker's event loop waits for the GIL."""
    table = _q(table)
    columns = ", ".join(_q(name) for name in COLUMNS)
    record = ", ".join(f"{_q(name)} {db_type}" for name, db_type in zip(COLUMNS, types, strict=True))
    sets = ", ".join(_set_clause(name, _q(name), table) for name in COLUMNS if name != "job_id")
    rank = _q("rank")
    return (
        f"INSERT INTO {table} ({columns}) SELECT {columns} FROM jsonb_to_recordset(%s::jsonb) AS r({record}) "
        f"ON CONFLICT ({_q('job_id')}) DO UPDATE SET {sets} WHERE EXCLUDED.{rank} >= {table}.{rank}"
    )


_JSON_COLUMNS: Final = frozenset({"args", "kwargs", "result"})


def _json_batch(rows: Sequence[RowUpdate]) -> str:
    """The rows as a JSON array; an unknown value (``None``) is left out, so it reads as SQL ``NULL``
    (a JSON ``null`` would become a jsonb ``null`` and overwrite the stored value)."""
    batch = []
    for row in rows:
        record: dict[str, Any] = {}
        for name, value in zip(COLUMNS, _ROW_VALUES(row), strict=True):
            if value is None:
                continue
            if name in _JSON_COLUMNS:
                value = to_json_data(value)
            elif isinstance(value, dt.datetime):
                value = value.isoformat()
            record[name] = value
        batch.append(record)
    return json.dumps(batch, separators=(",", ":"))


def _column_types(connection: BaseDatabaseWrapper) -> tuple[str, ...]:
    """Each column's PostgreSQL type without length (``varchar(255)`` → ``varchar``), for the casts."""
    return tuple(str(field.db_type(connection)).split("(")[0] for field in _fields())


_ROW_VALUES: Final = operator.attrgetter(*COLUMNS)
Converter = Callable[[Any], Any]


def _converters(connection: BaseDatabaseWrapper) -> list[Converter | None]:
    """Per column, what the backend needs done to a value (``None``: nothing). The same conversions
    as ``Field.get_db_prep_save``, minus its checks, which cost half the write on the hot path."""
    ops = connection.ops
    naive_in = connection.timezone if connection.vendor == "sqlite" and settings.USE_TZ else None

    def datetime(value: Any) -> Any:
        if value is None:
            return None
        if naive_in is not None and value.tzinfo is not None:
            # What SQLite's adapt_datetimefield_value does with an aware value, at a fraction of the cost.
            if value.tzinfo is not naive_in:
                value = value.astimezone(naive_in)
            return str(value.replace(tzinfo=None))
        return ops.adapt_datetimefield_value(value)

    def json(value: Any) -> Any:
        return None if value is None else ops.adapt_json_value(to_json_data(value), None)

    kinds: dict[str, Converter] = {"DateTimeField": datetime, "JSONField": json}
    return [kinds.get(field.get_internal_type()) for field in _fields()]


def _values(row: RowUpdate, converters: Sequence[Converter | None]) -> list[Any]:
    return [
        value if convert is None else convert(value)
        for value, convert in zip(_ROW_VALUES(row), converters, strict=True)
    ]


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
    converters = _converters(connection)
    table = JobResult._meta.db_table
    with transaction.atomic(using=alias, savepoint=False), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_sql_json(table, _column_types(connection)), [_json_batch(rows)])
            return len(rows)
        # SQLite: multi-row statements, so the GIL changes hands once per statement, not once per row.
        size = max(1, connection.ops.bulk_batch_size(_fields(), rows))
        for start in range(0, len(rows), size):
            chunk = rows[start : start + size]
            params: list[Any] = []
            for row in chunk:
                params.extend(_values(row, converters))
            cursor.execute(_sql(table, len(chunk)), params)
    return len(rows)
